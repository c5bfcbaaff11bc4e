// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_announce NAME { ... }`: a keepalived-rs extension (not in
//! keepalived 2.2.7). A host route for each address, put in a routing
//! table of its own for a routing daemon (BIRD, FRR) to carry over BGP,
//! present only while every tracked object is healthy. It is the
//! active/active form: no `vrrp_instance` and no IPVS are needed, the
//! upstream router spreads flows over every director that announces.
//!
//! ```text
//! vrrp_announce WEB {
//!     address 192.0.2.10          # repeatable; a host address (/32, /128)
//!     dev lo                      # where the address itself lives
//!     local_route                 # a local route instead of an address
//!     table 100                   # the table the routing daemon imports
//!     protocol 249                # the route's protocol number
//!     metric 0
//!     drain_delay 0               # seconds between withdrawal and stop
//!     track_script { chk_web }
//!     track_interface { eth0 }
//!     track_file { f }
//!     track_process { haproxy }
//! }
//! ```

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::addr::At;
use crate::model::track::{TrackRef, block_name, read_track_refs};
use crate::reader::{Reader, Table};
use crate::syntax::Node;
use crate::types::Timer;

/// The route protocol number announced routes carry unless configured:
/// not 18 (keepalived's, which our VRRP side also uses), not one of
/// iproute2's named protocols, not one FRR's zebra claims (186-199) and
/// sweeps at its start.
pub const DEFAULT_PROTOCOL: u8 = 249;
/// The route protocol number of a virtual server's `announce` unless
/// configured: its own, so each child sweeps and withdraws only the
/// routes it owns (validation refuses one child's protocol in a table the
/// other uses with the same number).
pub const DEFAULT_VS_PROTOCOL: u8 = 250;
/// The table announced routes go to unless configured.
pub const DEFAULT_TABLE: u32 = 100;
/// The longest `drain_delay` accepted: a stop must still fit keepalived's
/// `child_wait_time` and systemd's stop timeout.
pub const MAX_DRAIN: Timer = Timer::from_secs(30);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Announce {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub addresses: Vec<IpAddr>,
    /// The link the addresses live on.
    #[serde(skip_serializing_if = "announce_dev_is_default")]
    pub dev: String,
    /// Make the addresses local with a `local` route in the local table
    /// (the host accepts and binds them) instead of an interface address:
    /// a routing daemon then sees no connected route that would outrank
    /// the announced one (FRR 8.4's `import-table` is such a case).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub local_route: bool,
    #[serde(skip_serializing_if = "announce_table_is_default")]
    pub table: u32,
    #[serde(skip_serializing_if = "announce_protocol_is_default")]
    pub protocol: u8,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub metric: u32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub drain_delay: Timer,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_interface: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_script: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_file: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_process: Vec<TrackRef>,
    #[serde(skip)]
    pub at: At,
}

impl Default for Announce {
    fn default() -> Self {
        Self {
            name: String::new(),
            addresses: Vec::new(),
            dev: "lo".to_string(),
            local_route: false,
            table: DEFAULT_TABLE,
            protocol: DEFAULT_PROTOCOL,
            metric: 0,
            drain_delay: Timer::default(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            at: At::default(),
        }
    }
}

struct_defaults!(Announce {
    dev: String => announce_dev_is_default,
    table: u32 => announce_table_is_default,
    protocol: u8 => announce_protocol_is_default,
});

impl Announce {
    /// Whether anything at all is tracked (an announce tracking nothing
    /// would announce for ever, which is a static route's job).
    pub fn tracks_anything(&self) -> bool {
        !(self.track_interface.is_empty()
            && self.track_script.is_empty()
            && self.track_file.is_empty()
            && self.track_process.is_empty())
    }
}

/// The route keywords, shared by `vrrp_announce` and a virtual server's
/// `announce` block.
const ROUTE: &Table<Announce> = &[
    ("dev", |a, n, r| {
        if let Some(d) = r.string(n) {
            a.dev = d;
        }
    }),
    ("local_route", |a, n, r| a.local_route = r.flag(n)),
    ("table", |a, n, r| {
        if let Some(t) = r.int(n, 1u32, u32::MAX) {
            a.table = t;
        }
    }),
    ("protocol", |a, n, r| {
        if let Some(p) = r.int(n, 0u8, u8::MAX) {
            a.protocol = p;
        }
    }),
    ("metric", |a, n, r| {
        if let Some(m) = r.int(n, 0u32, u32::MAX) {
            a.metric = m;
        }
    }),
    ("drain_delay", |a, n, r| {
        if let Some(d) = r.timer(n, Timer::default(), MAX_DRAIN) {
            a.drain_delay = d;
        }
    }),
];

/// What only `vrrp_announce` has: its addresses and tracked objects.
const TRACKED: &Table<Announce> = &[
    ("address", |a, n, r| {
        // `address IP` or `address IP/LEN` with the host length only.
        let Some(t) = r.arg(n, 0) else { return };
        let (ip, len) = match t.text.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None => (t.text, None),
        };
        let Ok(addr) = ip.parse::<IpAddr>() else {
            r.error(&t.loc, format!("'{}' is not an IP address", t.text));
            return;
        };
        let host = if addr.is_ipv4() { "32" } else { "128" };
        if len.is_some_and(|l| l != host) {
            r.error(
                &t.loc,
                format!(
                    "announced address {} must be a host address (/{host})",
                    t.text
                ),
            );
            return;
        }
        a.addresses.push(addr);
    }),
    // Every tracked object is a must-be-healthy condition: weights do
    // not apply (there is no priority to adjust), only `reverse` does.
    ("track_interface", |a, n, r| {
        a.track_interface.extend(read_track_refs(n, 0, 0, r))
    }),
    ("track_script", |a, n, r| {
        a.track_script.extend(read_track_refs(n, 0, 0, r))
    }),
    ("track_file", |a, n, r| {
        a.track_file.extend(read_track_refs(n, 0, 0, r))
    }),
    ("track_process", |a, n, r| {
        a.track_process.extend(read_track_refs(n, 0, 0, r))
    }),
];

/// Reads `items` with `tables` together (an unknown keyword is reported
/// once, with every known one as a suggestion).
fn read_items(
    a: &mut Announce,
    items: &[Node<'_>],
    r: &mut Reader<'_>,
    tables: &[&Table<Announce>],
) {
    for node in items {
        match tables
            .iter()
            .flat_map(|t| t.iter())
            .find(|(k, _)| *k == node.name())
        {
            Some((_, handler)) => handler(a, node, r),
            None => r.unknown(node, tables.iter().flat_map(|t| t.iter()).map(|(k, _)| *k)),
        }
    }
}

pub fn read_announce(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Announce> {
    let name = block_name(node, r)?;
    let mut a = Announce {
        name,
        at: At::of(node.loc()),
        ..Announce::default()
    };
    let items = r.block(node);
    read_items(&mut a, items, r, &[TRACKED, ROUTE]);
    Some(a)
}

/// `announce { ... }` inside a `virtual_server` (keepalived-rs
/// extension): the route keywords only; the address is the virtual
/// server's and the health its quorum, so the caller fills in the name
/// and address. The protocol defaults to [`DEFAULT_VS_PROTOCOL`], so the
/// checker child's routes are told apart from the VRRP child's.
pub fn read_vs_announce(node: &Node<'_>, r: &mut Reader<'_>) -> Announce {
    let mut a = Announce {
        protocol: DEFAULT_VS_PROTOCOL,
        at: At::of(node.loc()),
        ..Announce::default()
    };
    let items = r.block(node);
    read_items(&mut a, items, r, &[ROUTE]);
    a
}
