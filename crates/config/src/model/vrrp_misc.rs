// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `garp_group`, `linkbeat_interfaces`, `interface_up_down_delays`,
//! `bfd_instance` (inventory §A.8).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::addr::At;
use crate::model::track::block_name;
use crate::reader::{Reader, Table};
use crate::syntax::Node;
use crate::types::Timer;

// -------------------------------------------------------------- garp_group

/// Per-interface spacing of gratuitous ARPs / unsolicited NAs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GarpGroup {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_interval: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub gna_interval: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub interfaces: Vec<String>,
    #[serde(skip)]
    pub at: At,
    #[serde(skip)]
    pub interfaces_at: Vec<At>,
}

const GARP_MIN: Timer = Timer::from_micros(1);
const GARP_MAX: Timer = Timer::from_micros(u32::MAX as u64);

const GARP_GROUP: &Table<GarpGroup> = &[
    ("garp_interval", |g, n, r| {
        if let Some(v) = r.timer(n, GARP_MIN, GARP_MAX) {
            g.garp_interval = Some(v);
        }
    }),
    ("gna_interval", |g, n, r| {
        if let Some(v) = r.timer(n, GARP_MIN, GARP_MAX) {
            g.gna_interval = Some(v);
        }
    }),
    ("interface", |g, n, r| {
        if let Some(i) = r.string(n) {
            g.interfaces.push(i);
            g.interfaces_at.push(At::of(n.loc()));
        }
    }),
    ("interfaces", |g, n, r| {
        let items = r.block(n);
        if items.is_empty() {
            r.warn(n.loc(), "empty garp_group interfaces block");
        }
        for e in items {
            r.no_block(e);
            g.interfaces.push(e.name().to_string());
            g.interfaces_at.push(At::of(e.loc()));
        }
    }),
];

pub fn read_garp_group(node: &Node<'_>, r: &mut Reader<'_>) -> Option<GarpGroup> {
    let mut g = GarpGroup {
        at: At::of(node.loc()),
        ..GarpGroup::default()
    };
    let items = r.block(node);
    r.read_block(&mut g, items, GARP_GROUP);
    if g.garp_interval.is_none() && g.gna_interval.is_none() {
        r.warn(
            node.loc(),
            "garp_group has neither garp_interval nor gna_interval; it is removed",
        );
        return None;
    }
    Some(g)
}

// ----------------------------------------------------- linkbeat_interfaces

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LinkbeatMode {
    /// keepalived tries MII, then ETHTOOL, then IOCTL.
    #[default]
    Auto,
    Mii,
    Ethtool,
    Ioctl,
}

/// An interface whose carrier is polled instead of followed by netlink.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkbeatInterface {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub interface: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub mode: LinkbeatMode,
    #[serde(skip)]
    pub at: At,
}

pub fn read_linkbeat_interfaces(node: &Node<'_>, r: &mut Reader<'_>) -> Vec<LinkbeatInterface> {
    let mut out = Vec::new();
    for e in r.block(node) {
        r.no_block(e);
        let mut l = LinkbeatInterface {
            interface: e.name().to_string(),
            mode: LinkbeatMode::Auto,
            at: At::of(e.loc()),
        };
        if let Some(t) = e.args.first() {
            match r.choice_tok(t, &["MII", "ETHTOOL", "IOCTL"]) {
                Some("MII") => l.mode = LinkbeatMode::Mii,
                Some("ETHTOOL") => l.mode = LinkbeatMode::Ethtool,
                Some(_) => l.mode = LinkbeatMode::Ioctl,
                None => {}
            }
        }
        if let Some(t) = e.args.get(1) {
            r.warn(
                &t.loc,
                format!(
                    "extra words after linkbeat interface {}; ignored",
                    l.interface
                ),
            );
        }
        out.push(l);
    }
    out
}

// ------------------------------------------------ interface_up_down_delays

/// How long an interface must stay down (up) before keepalived acts on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpDownDelay {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub interface: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub down: Timer,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub up: Timer,
    #[serde(skip)]
    pub at: At,
}

pub fn read_up_down_delays(node: &Node<'_>, r: &mut Reader<'_>) -> Vec<UpDownDelay> {
    let max = Timer::from_secs(255);
    let mut out = Vec::new();
    for e in r.block(node) {
        r.no_block(e);
        let Some(down_tok) = e.args.first() else {
            r.warn(
                e.loc(),
                format!("no delays specified for {} up/down delays", e.name()),
            );
            continue;
        };
        if e.args.len() > 2 {
            r.warn(
                e.loc(),
                format!("too many parameters for {} up/down delays", e.name()),
            );
        }
        let Some(down) = r.timer_tok(down_tok, Timer::default(), max) else {
            continue;
        };
        let up = match e.args.get(1) {
            Some(t) => match r.timer_tok(t, Timer::default(), max) {
                Some(v) => v,
                None => continue,
            },
            None => Timer::default(),
        };
        out.push(UpDownDelay {
            interface: e.name().to_string(),
            down,
            up,
            at: At::of(e.loc()),
        });
    }
    out
}

// ------------------------------------------------------------ bfd_instance

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BfdInstance {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub neighbor_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub source_ip: Option<IpAddr>,
    /// Milliseconds.
    #[serde(skip_serializing_if = "bfd_instance_min_rx_is_default")]
    pub min_rx: u32,
    #[serde(skip_serializing_if = "bfd_instance_min_tx_is_default")]
    pub min_tx: u32,
    #[serde(skip_serializing_if = "bfd_instance_idle_tx_is_default")]
    pub idle_tx: u32,
    #[serde(skip_serializing_if = "bfd_instance_multiplier_is_default")]
    pub multiplier: u8,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub passive: bool,
    /// TTL (IPv4) / hop limit (IPv6) of sent packets.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub ttl: Option<u8>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub max_hops: Option<i16>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight: i32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight_reverse: bool,
    /// Report to the VRRP / checker process only (both when neither set).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker: bool,
    #[serde(skip)]
    pub at: At,
}

impl Default for BfdInstance {
    fn default() -> Self {
        Self {
            name: String::new(),
            neighbor_ip: None,
            source_ip: None,
            min_rx: 10,
            min_tx: 10,
            idle_tx: 1000,
            multiplier: 5,
            passive: false,
            ttl: None,
            max_hops: None,
            weight: 0,
            weight_reverse: false,
            vrrp: false,
            checker: false,
            at: At::default(),
        }
    }
}

struct_defaults!(BfdInstance {
    min_rx: u32 => bfd_instance_min_rx_is_default,
    min_tx: u32 => bfd_instance_min_tx_is_default,
    idle_tx: u32 => bfd_instance_idle_tx_is_default,
    multiplier: u8 => bfd_instance_multiplier_is_default,
});

fn bfd_neighbor(b: &mut BfdInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    if let Some(ip) = r.ip(n) {
        b.neighbor_ip = Some(ip);
    }
}

fn bfd_ttl(b: &mut BfdInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    if let Some(v) = r.int(n, 1u8, 255) {
        b.ttl = Some(v);
    }
}

const BFD: &Table<BfdInstance> = &[
    ("neighbor_ip", bfd_neighbor),
    ("neighbour_ip", bfd_neighbor),
    ("neighbor", bfd_neighbor),
    ("neighbour", bfd_neighbor),
    ("source_ip", |b, n, r| {
        if let Some(ip) = r.ip(n) {
            b.source_ip = Some(ip);
        }
    }),
    ("min_rx", |b, n, r| {
        if let Some(v) = r.int(n, 1u32, 1_000_000) {
            b.min_rx = v;
        }
    }),
    ("min_tx", |b, n, r| {
        if let Some(v) = r.int(n, 1u32, 1_000_000) {
            b.min_tx = v;
        }
    }),
    ("idle_tx", |b, n, r| {
        if let Some(v) = r.int(n, 1u32, 1_000_000) {
            b.idle_tx = v;
        }
    }),
    ("multiplier", |b, n, r| {
        if let Some(v) = r.int(n, 1u8, 255) {
            b.multiplier = v;
        }
    }),
    ("passive", |b, n, r| b.passive = r.flag(n)),
    ("ttl", bfd_ttl),
    ("hoplimit", bfd_ttl),
    ("max_hops", |b, n, r| {
        if let Some(v) = r.int(n, -1i16, 255) {
            b.max_hops = Some(v);
        }
    }),
    ("weight", |b, n, r| {
        r.no_block(n);
        if let Some(t) = r.arg(n, 0)
            && let Some(w) = r.int_tok(t, -253, 253)
        {
            b.weight = w;
            b.weight_reverse = n.args.get(1).is_some_and(|t| t.text == "reverse");
        }
    }),
    ("vrrp", |b, n, r| b.vrrp = r.flag(n)),
    ("checker", |b, n, r| b.checker = r.flag(n)),
];

pub fn read_bfd_instance(node: &Node<'_>, r: &mut Reader<'_>) -> Option<BfdInstance> {
    let name = block_name(node, r)?;
    let mut b = BfdInstance {
        name,
        at: At::of(node.loc()),
        ..BfdInstance::default()
    };
    let items = r.block(node);
    r.read_block(&mut b, items, BFD);
    if b.neighbor_ip.is_none() {
        r.error(
            node.loc(),
            format!("BFD instance {} has no neighbor_ip; it is disabled", b.name),
        );
        return None;
    }
    if let (Some(s), Some(nb)) = (b.source_ip, b.neighbor_ip)
        && s.is_ipv4() != nb.is_ipv4()
    {
        r.error(
            node.loc(),
            format!(
                "BFD instance {}: source_ip {s} and neighbor_ip {nb} are not of the same family; it is disabled",
                b.name
            ),
        );
        return None;
    }
    Some(b)
}
