// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_sync_group` (inventory §A.6): instances that change state together.

use serde::{Deserialize, Serialize};

use crate::model::addr::At;
use crate::model::track::{TrackRef, block_name, read_track_refs};
use crate::reader::{Reader, Table};
use crate::syntax::Node;
use crate::types::Command;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncGroup {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    /// Member instance names, in order.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub group: Vec<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_interface: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_script: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_file: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_process: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_bfd: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_master: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_backup: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_fault: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_stop: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub smtp_alert: bool,
    /// Deprecated: members keep their own tracking.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub global_tracking: bool,
    /// Tracking weights apply to the members instead of faulting the group.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub sync_group_tracking_weight: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_priority_changes: bool,
    #[serde(skip)]
    pub at: At,
    /// Where each member was named, parallel to `group`.
    #[serde(skip)]
    pub group_at: Vec<At>,
}

/// Sets a notify hook, warning (as keepalived does) when it was already set.
pub(crate) fn set_notify(slot: &mut Option<Command>, n: &Node<'_>, r: &mut Reader<'_>) {
    if let Some(c) = r.command(n) {
        if slot.is_some() {
            r.warn(
                n.loc(),
                format!("{} is already specified; this one is ignored", n.name()),
            );
            return;
        }
        *slot = Some(c);
    }
}

const SYNC_GROUP: &Table<SyncGroup> = &[
    ("group", |g, n, r| {
        if !g.group.is_empty() {
            r.warn(
                n.loc(),
                format!("group list already specified for sync group {}", g.name),
            );
            return;
        }
        for e in r.block(n) {
            r.no_block(e);
            for t in std::iter::once(&e.keyword).chain(e.args.iter()) {
                g.group.push(t.text.to_string());
                g.group_at.push(At::of(&t.loc));
            }
        }
        if g.group.is_empty() {
            r.warn(
                n.loc(),
                format!("sync group {} has an empty group block", g.name),
            );
        }
    }),
    ("track_interface", |g, n, r| {
        g.track_interface.extend(read_track_refs(n, -254, 254, r))
    }),
    ("track_script", |g, n, r| {
        g.track_script.extend(read_track_refs(n, -254, 254, r))
    }),
    ("track_file", |g, n, r| {
        g.track_file.extend(read_track_refs(n, -254, 254, r))
    }),
    ("track_process", |g, n, r| {
        g.track_process.extend(read_track_refs(n, -254, 254, r))
    }),
    ("track_bfd", |g, n, r| {
        g.track_bfd.extend(read_track_refs(n, -254, 254, r))
    }),
    ("notify_master", |g, n, r| {
        set_notify(&mut g.notify_master, n, r)
    }),
    ("notify_backup", |g, n, r| {
        set_notify(&mut g.notify_backup, n, r)
    }),
    ("notify_fault", |g, n, r| {
        set_notify(&mut g.notify_fault, n, r)
    }),
    ("notify_stop", |g, n, r| {
        set_notify(&mut g.notify_stop, n, r)
    }),
    ("notify", |g, n, r| set_notify(&mut g.notify, n, r)),
    ("smtp_alert", |g, n, r| g.smtp_alert = r.flag(n)),
    ("global_tracking", |g, n, r| {
        g.global_tracking = r.flag(n);
        r.warn(
            n.loc(),
            format!(
                "({}) global_tracking is deprecated; use track_interface/script/file on the sync group",
                g.name
            ),
        );
    }),
    ("sync_group_tracking_weight", |g, n, r| {
        g.sync_group_tracking_weight = r.flag(n)
    }),
    ("notify_priority_changes", |g, n, r| {
        g.notify_priority_changes = r.flag(n)
    }),
];

pub fn read(node: &Node<'_>, r: &mut Reader<'_>) -> Option<SyncGroup> {
    let name = block_name(node, r)?;
    let mut g = SyncGroup {
        name,
        at: At::of(node.loc()),
        ..SyncGroup::default()
    };
    let items = r.block(node);
    r.read_block(&mut g, items, SYNC_GROUP);
    Some(g)
}
