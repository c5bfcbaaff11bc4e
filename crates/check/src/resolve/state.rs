// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The resolvers' state file (keepalived-rs extension, for HAProxy's
//! `init-addr last`): each name's current addresses, written when they
//! change, read at start so that a restart while DNS is down still has
//! real servers. The text here; the file is the checker child's.
//!
//! A file that cannot be read as ours (truncated, edited, another
//! program's) is refused as a whole with why: start-up then goes on to
//! the next `init_addr` method, and the next change rewrites it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::expand::{LookupKey, LookupKind};
use super::name::Target;

/// Larger files are refused unread: 4096 addresses for each of many
/// names is still far below.
pub const MAX_STATE_BYTES: u64 = 16 << 20;

const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    names: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    resolvers: String,
    host: String,
    kind: LookupKind,
    addresses: Vec<Target>,
}

/// The file's text for these names (those of one `resolvers` block).
pub fn encode<'a>(names: impl IntoIterator<Item = (&'a LookupKey, &'a Vec<Target>)>) -> String {
    let file = File {
        version: VERSION,
        names: names
            .into_iter()
            .map(|(k, a)| Entry {
                resolvers: k.resolvers.clone(),
                host: k.host.clone(),
                kind: k.kind,
                addresses: a.clone(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

/// The names of a state file, each with at most `max` addresses.
pub fn decode(text: &str, max: usize) -> Result<BTreeMap<LookupKey, Vec<Target>>, String> {
    let file: File = serde_json::from_str(text).map_err(|e| format!("not a state file: {e}"))?;
    if file.version != VERSION {
        return Err(format!(
            "state file version {} (this program writes {VERSION})",
            file.version
        ));
    }
    Ok(file
        .names
        .into_iter()
        .map(|mut e| {
            e.addresses.truncate(max);
            let key = LookupKey {
                resolvers: e.resolvers,
                host: e.host,
                kind: e.kind,
            };
            (key, e.addresses)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn key(host: &str, kind: LookupKind) -> LookupKey {
        LookupKey {
            resolvers: "dns1".into(),
            host: host.into(),
            kind,
        }
    }

    fn t(a: &str, port: u16, weight: Option<u16>) -> Target {
        Target {
            addr: a.parse::<IpAddr>().unwrap(),
            port,
            weight,
        }
    }

    #[test]
    fn names_round_trip_bounded() {
        let mut m = BTreeMap::new();
        m.insert(
            key("a.example", LookupKind::A),
            vec![t("192.0.2.1", 0, None), t("192.0.2.2", 0, None)],
        );
        m.insert(
            key("_http._tcp.example", LookupKind::SrvV6),
            vec![t("2001:db8::1", 8080, Some(5))],
        );
        let text = encode(&m);
        assert_eq!(decode(&text, 64).unwrap(), m);
        let one = decode(&text, 1).unwrap();
        assert_eq!(one[&key("a.example", LookupKind::A)].len(), 1);
    }

    #[test]
    fn anything_else_is_refused_with_why() {
        let text = encode(&BTreeMap::new());
        for bad in [
            "",
            "{",
            &text[..text.len() / 2],
            "{\"version\": 2, \"names\": []}",
            "{\"version\": 1, \"names\": [], \"x\": 1}",
            "{\"version\": 1, \"names\": [{\"resolvers\": \"d\", \"host\": \"h\", \"kind\": \"mx\", \"addresses\": []}]}",
        ] {
            assert!(decode(bad, 64).is_err(), "{bad:?} accepted");
        }
        assert!(decode(&text, 64).unwrap().is_empty());
    }
}
