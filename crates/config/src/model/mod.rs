// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The typed configuration: one struct per block, keepalived's defaults,
//! legacy keyword names folded into the same fields.
//!
//! Each submodule owns a family of blocks and exposes `read_*` functions
//! that take the statement [`Node`] and a [`Reader`]; this module only
//! dispatches the root keywords.

/// `skip_serializing_if` functions for fields whose struct default is not
/// their type's (priority 100, quorum 1 ...): what the snapshot leaves out
/// comes back from the container default, so "default" here means the
/// struct's. `S { field: Type => fn_name, ... }` defines each `fn_name`.
macro_rules! struct_defaults {
    ($s:ident { $($f:ident: $t:ty => $name:ident),+ $(,)? }) => {
        $(
            fn $name(v: &$t) -> bool {
                crate::types::skipping_defaults() && *v == $s::default().$f
            }
        )+
    };
}

pub mod addr;
pub mod announce;
pub mod checker;
pub mod global;
pub mod lvs;
pub mod resolvers;
pub mod root;
pub mod route_time;
mod sized;
pub mod ssl;
pub mod sync_group;
pub mod track;
pub mod vrrp;
pub mod vrrp_misc;

use serde::{Deserialize, Serialize};

use crate::reader::{Reader, Table};
use crate::syntax::{Node, Tree};

/// Everything keepalived.conf can say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub global_defs: global::GlobalDefs,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub root: root::RootSettings,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_instances: Vec<vrrp::VrrpInstance>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_scripts: Vec<track::VrrpScript>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_processes: Vec<track::TrackProcess>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_files: Vec<track::TrackFile>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_groups: Vec<track::TrackGroup>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub sync_groups: Vec<sync_group::SyncGroup>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub static_ipaddress: Vec<addr::IpAddress>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub static_routes: Vec<addr::Route>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub static_rules: Vec<addr::Rule>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_groups: Vec<vrrp_misc::GarpGroup>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub linkbeat_interfaces: Vec<vrrp_misc::LinkbeatInterface>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub interface_up_down_delays: Vec<vrrp_misc::UpDownDelay>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bfd_instances: Vec<vrrp_misc::BfdInstance>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub ssl: Option<ssl::SslConfig>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtual_server_groups: Vec<lvs::VirtualServerGroup>,
    #[serde(
        default,
        skip_serializing_if = "crate::types::is_default",
        deserialize_with = "crate::model::sized::vec"
    )]
    pub virtual_servers: Vec<lvs::VirtualServer>,
    /// keepalived-rs extension: `resolvers NAME { ... }` blocks.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub resolvers: Vec<resolvers::Resolvers>,
    /// keepalived-rs extension: health-driven routes for BGP.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub announces: Vec<announce::Announce>,
}

impl Config {
    /// Whether the VRRP child has anything to do.
    pub fn has_vrrp(&self) -> bool {
        !self.vrrp_instances.is_empty()
            || !self.static_ipaddress.is_empty()
            || !self.static_routes.is_empty()
            || !self.static_rules.is_empty()
            || !self.announces.is_empty()
    }

    /// Whether the checker child has anything to do.
    pub fn has_checker(&self) -> bool {
        !self.virtual_servers.is_empty()
    }

    /// Gives back the room lists were grown into. A list read item by
    /// item (the parser's pushes, serde_json's decoding of the child's
    /// snapshot) keeps up to twice its length, at least four entries: a
    /// real server's one checker sat in room for four (296 bytes each),
    /// a virtual server's 10 real servers in room for 16. The children
    /// keep the model for as long as it is in force, so the lists they
    /// hold per real server are cut to size (issue 10, "Where the memory
    /// goes").
    pub fn shrink_to_fit(&mut self) {
        self.virtual_servers.shrink_to_fit();
        self.virtual_server_groups.shrink_to_fit();
        for g in &mut self.virtual_server_groups {
            g.entries.shrink_to_fit();
        }
        for vs in &mut self.virtual_servers {
            vs.real_servers.shrink_to_fit();
            vs.named_real_servers.shrink_to_fit();
            for rs in &mut vs.real_servers {
                rs.shrink_to_fit();
            }
            for named in &mut vs.named_real_servers {
                named.template.shrink_to_fit();
            }
        }
    }
}

/// Root keywords. Blocks that may appear many times are pushed in order.
const ROOT: &Table<Config> = &[
    ("global_defs", |c, n, r| {
        global::read(&mut c.global_defs, n, r)
    }),
    ("vrrp_instance", |c, n, r| {
        if let Some(i) = vrrp::read_instance(n, r) {
            c.vrrp_instances.push(i);
        }
    }),
    ("vrrp_script", |c, n, r| {
        if let Some(s) = track::read_vrrp_script(n, r) {
            c.vrrp_scripts.push(s);
        }
    }),
    ("vrrp_track_process", |c, n, r| {
        if let Some(p) = track::read_track_process(n, r) {
            c.track_processes.push(p);
        }
    }),
    ("track_file", read_track_file),
    ("vrrp_track_file", read_track_file),
    ("track_group", |c, n, r| {
        if let Some(g) = track::read_track_group(n, r) {
            c.track_groups.push(g);
        }
    }),
    ("vrrp_sync_group", |c, n, r| {
        if let Some(g) = sync_group::read(n, r) {
            c.sync_groups.push(g);
        }
    }),
    ("static_ipaddress", |c, n, r| {
        c.static_ipaddress.extend(addr::read_ipaddress_block(n, r))
    }),
    ("static_routes", |c, n, r| {
        c.static_routes.extend(addr::read_route_block(n, r))
    }),
    ("static_rules", |c, n, r| {
        c.static_rules.extend(addr::read_rule_block(n, r))
    }),
    ("garp_group", |c, n, r| {
        if let Some(g) = vrrp_misc::read_garp_group(n, r) {
            c.garp_groups.push(g);
        }
    }),
    ("linkbeat_interfaces", |c, n, r| {
        c.linkbeat_interfaces
            .extend(vrrp_misc::read_linkbeat_interfaces(n, r))
    }),
    ("interface_up_down_delays", |c, n, r| {
        c.interface_up_down_delays
            .extend(vrrp_misc::read_up_down_delays(n, r))
    }),
    ("bfd_instance", |c, n, r| {
        if let Some(b) = vrrp_misc::read_bfd_instance(n, r) {
            c.bfd_instances.push(b);
        }
    }),
    ("SSL", |c, n, r| {
        if c.ssl.is_some() {
            r.error(
                n.loc(),
                "SSL context already specified - replacing the earlier one",
            );
        }
        c.ssl = Some(ssl::read(n, r));
    }),
    ("virtual_server_group", |c, n, r| {
        if let Some(g) = lvs::read_virtual_server_group(n, r) {
            c.virtual_server_groups.push(g);
        }
    }),
    ("virtual_server", |c, n, r| {
        if let Some(v) = lvs::read_virtual_server(n, r) {
            c.virtual_servers.push(v);
        }
    }),
    ("resolvers", |c, n, r| {
        if let Some(v) = resolvers::read_resolvers(n, r) {
            c.resolvers.push(v);
        }
    }),
    ("vrrp_announce", |c, n, r| {
        if let Some(a) = announce::read_announce(n, r) {
            c.announces.push(a);
        }
    }),
    ("net_namespace", |c, n, r| {
        c.root.net_namespace = r.string(n)
    }),
    ("net_namespace_ipvs", |c, n, r| {
        c.root.net_namespace_ipvs = r.string(n)
    }),
    ("namespace_with_ipsets", |c, n, r| {
        c.root.namespace_with_ipsets = r.flag(n)
    }),
    ("instance", |c, n, r| c.root.instance = r.string(n)),
    ("use_pid_dir", |c, n, r| c.root.use_pid_dir = r.flag(n)),
    ("child_wait_time", |c, n, r| {
        if let Some(v) = r.int(n, 0u32, u32::MAX) {
            c.root.child_wait_time = v;
        }
    }),
    ("linkbeat_use_polling", |c, n, r| {
        c.root.linkbeat_use_polling = r.flag(n)
    }),
];

fn read_track_file(c: &mut Config, n: &Node<'_>, r: &mut Reader<'_>) {
    if let Some(f) = track::read_track_file(n, r) {
        c.track_files.push(f);
    }
}

/// The root keywords this reader knows (for `-d` and suggestions).
pub fn root_keywords() -> impl Iterator<Item = &'static str> {
    ROOT.iter().map(|(k, _)| *k)
}

/// Reads the statement tree into a [`Config`].
pub fn read(tree: &Tree<'_>, r: &mut Reader<'_>) -> Config {
    let mut cfg = Config::default();
    r.read_block(&mut cfg, &tree.items, ROOT);
    cfg
}

/// Reads one top-level statement into `cfg`: [`read`] one statement at a
/// time, for a caller that streams the tree.
pub fn read_node(cfg: &mut Config, node: &Node<'_>, r: &mut Reader<'_>) {
    r.read_block(cfg, std::slice::from_ref(node), ROOT);
}
