// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_script`, `vrrp_track_process`, `track_file`, `track_group` (inventory §A.5).

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpScript {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackProcess {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackFile {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackGroup {}

pub fn read_vrrp_script(node: &Node, r: &mut Reader<'_>) -> Option<VrrpScript> {
    let _ = r.block(node);
    None
}

pub fn read_track_process(node: &Node, r: &mut Reader<'_>) -> Option<TrackProcess> {
    let _ = r.block(node);
    None
}

pub fn read_track_file(node: &Node, r: &mut Reader<'_>) -> Option<TrackFile> {
    let _ = r.block(node);
    None
}

pub fn read_track_group(node: &Node, r: &mut Reader<'_>) -> Option<TrackGroup> {
    let _ = r.block(node);
    None
}
