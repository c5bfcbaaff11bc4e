// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The resolvers' state files (`state_file PATH`, for `init_addr last`):
//! written when a name's addresses change, read when lookups start. The
//! format and its checks are `keepalived_check::resolve::state`'s.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use keepalived_check::resolve::state::{self, MAX_STATE_BYTES};
use keepalived_check::resolve::{LookupKey, Target};
use keepalived_config::model::resolvers::Resolvers;

use crate::dump;

/// Writes each block's state file with its names' current addresses.
/// A failure is logged and changes nothing else: the file only serves the
/// next start.
pub fn write(blocks: &[Resolvers], addresses: &BTreeMap<LookupKey, Vec<Target>>) {
    for r in blocks {
        let Some(path) = r.state_file.as_deref() else {
            continue;
        };
        let text = state::encode(addresses.iter().filter(|(k, _)| k.resolvers == r.name));
        if let Err(e) = dump::write_private(Path::new(path), &text) {
            tracing::error!("resolvers {}: cannot write state_file {path}: {e}", r.name);
        }
    }
}

/// The addresses a block's state file kept, each name's bounded by `max`;
/// empty (with why in the log) when there is none usable.
pub fn read(r: &Resolvers, max: usize) -> BTreeMap<LookupKey, Vec<Target>> {
    let Some(path) = r.state_file.as_deref() else {
        return BTreeMap::new();
    };
    let mut text = String::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(MAX_STATE_BYTES + 1).read_to_string(&mut text));
    match read {
        Ok(n) if n as u64 > MAX_STATE_BYTES => {
            tracing::error!(
                "resolvers {}: state_file {path} is larger than {MAX_STATE_BYTES} bytes; not used",
                r.name
            );
            BTreeMap::new()
        }
        Ok(_) => match state::decode(&text, max) {
            Ok(m) => m
                .into_iter()
                .filter(|(k, _)| k.resolvers == r.name)
                .collect(),
            Err(why) => {
                tracing::error!("resolvers {}: state_file {path}: {why}; not used", r.name);
                BTreeMap::new()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => {
            tracing::error!("resolvers {}: cannot read state_file {path}: {e}", r.name);
            BTreeMap::new()
        }
    }
}
