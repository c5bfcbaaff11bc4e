// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Routes, rules and static addresses: `virtual_routes`,
//! `virtual_rules` (installed with an instance's VIPs when it becomes
//! MASTER, removed when it leaves MASTER) and `static_ipaddress`,
//! `static_routes`, `static_rules` (installed at start, kept for the
//! life of the daemon, removed on stop).
//!
//! Order, as keepalived: addresses first, then routes (a route may name
//! a VIP as its source), then rules; removal in the reverse order.
//!
//! A reload touches only what changed: an entry equal in the old and the
//! new configuration stays in the kernel untouched; a removed one is
//! deleted; a new one is added (for an instance, only while it is
//! MASTER).

pub mod spec;
mod statics;

use keepalived_config::model::vrrp::VrrpInstance;
use keepalived_sys::netlink::{Netlink, NetlinkError};
use keepalived_sys::route::{AddMode, RouteDelOutcome, RouteGone, RouteOutcome, RouteSpec};
use keepalived_sys::rule::{RuleDelOutcome, RuleGone};

pub use spec::{RoutePlan, RulePlan};
pub use statics::{Statics, address_spec};

/// Routes and rules of one owner (an instance, or the static blocks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    pub routes: Vec<RoutePlan>,
    pub rules: Vec<RulePlan>,
}

/// iproute2's table-name files, the first one that names a table wins.
const RT_TABLES: [&str; 2] = ["/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables"];

/// The files' text, read once per configuration load
/// ([`reload_system_tables`]) rather than once per named table of every
/// route and rule.
static SYSTEM_TABLES: std::sync::Mutex<Option<Vec<String>>> = std::sync::Mutex::new(None);

/// Reads iproute2's table names again: a configuration (re)load calls
/// this, so a table named in rt_tables since the last load is known.
pub fn reload_system_tables() {
    let texts = RT_TABLES
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    if let Ok(mut cache) = SYSTEM_TABLES.lock() {
        *cache = Some(texts);
    }
}

/// Table names beyond the built-in ones, from iproute2's files (read at
/// the first lookup if no load read them yet).
pub fn system_table(name: &str) -> Option<u32> {
    let loaded = SYSTEM_TABLES.lock().is_ok_and(|c| c.is_some());
    if !loaded {
        reload_system_tables();
    }
    let cache = SYSTEM_TABLES.lock().ok()?;
    cache
        .as_ref()?
        .iter()
        .find_map(|text| spec::parse_rt_tables(text, name))
}

/// Why `r` cannot be installed, if it cannot (`-t`'s notes).
pub fn route_refusal(r: &keepalived_config::model::addr::Route) -> Option<String> {
    spec::route_plan(r, &system_table).err()
}

/// Why `r` cannot be installed, if it cannot.
pub fn rule_refusal(r: &keepalived_config::model::addr::Rule) -> Option<String> {
    spec::rule_plan(r, &system_table).err()
}

impl Routing {
    /// From configured routes and rules; an entry the kernel could not
    /// be asked for is logged for `who` and left out.
    pub fn plan(
        routes: &[keepalived_config::model::addr::Route],
        rules: &[keepalived_config::model::addr::Rule],
        who: &str,
    ) -> Self {
        let mut out = Self::default();
        for r in routes {
            match spec::route_plan(r, &system_table) {
                Ok(p) => out.routes.push(p),
                Err(e) => tracing::error!("({who}) route not installed: {e}"),
            }
        }
        for r in rules {
            match spec::rule_plan(r, &system_table) {
                Ok(p) => out.rules.push(p),
                Err(e) => tracing::error!("({who}) rule not installed: {e}"),
            }
        }
        out
    }

    /// An instance's `virtual_routes` and `virtual_rules`.
    pub fn of_instance(conf: &VrrpInstance) -> Self {
        Self::plan(&conf.virtual_routes, &conf.virtual_rules, &conf.name)
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }

    /// What `self` has that `new` does not (to remove) and what `new`
    /// has that `self` does not (to add).
    pub fn diff(&self, new: &Self) -> (Self, Self) {
        let gone = Self {
            routes: missing(&self.routes, &new.routes),
            rules: missing(&self.rules, &new.rules),
        };
        let added = Self {
            routes: missing(&new.routes, &self.routes),
            rules: missing(&new.rules, &self.rules),
        };
        (gone, added)
    }

    /// Installs routes, then rules; failures are logged for `who`.
    pub async fn install(&self, nl: &Netlink, who: &str) {
        for r in &self.routes {
            add_route(nl, r, who).await;
        }
        for r in &self.rules {
            add_rule(nl, &r.spec, who).await;
        }
    }

    /// Removes rules, then routes.
    pub async fn remove(&self, nl: &Netlink, who: &str) {
        for r in &self.rules {
            match nl.del_rule(&r.spec).await {
                Ok(RuleDelOutcome::Removed | RuleDelOutcome::NotPresent) => {}
                Err(e) => tracing::warn!("({who}) cannot remove rule {}: {e}", r.spec.priority),
            }
        }
        for r in &self.routes {
            let spec = match resolve(nl, r).await {
                Ok(s) => s,
                // The interface is gone: so is the route.
                Err(NetlinkError::NoSuchInterface(_)) => continue,
                Err(e) => {
                    tracing::warn!("({who}) cannot remove route {}: {e}", show(&r.spec));
                    continue;
                }
            };
            match nl.del_route(&spec).await {
                Ok(RouteDelOutcome::Removed | RouteDelOutcome::NotPresent) => {}
                Err(e) => tracing::warn!("({who}) cannot remove route {}: {e}", show(&r.spec)),
            }
        }
    }

    /// The tracked route this deletion removed, by index.
    pub fn route_gone(&self, gone: &RouteGone) -> Option<usize> {
        self.routes.iter().position(|r| gone.matches(&r.spec))
    }

    /// The rule this deletion removed, by index.
    pub fn rule_gone(&self, gone: &RuleGone) -> Option<usize> {
        self.rules.iter().position(|r| gone.matches(&r.spec))
    }
}

impl RoutePlan {
    /// `203.0.113.0/25 via 192.0.2.254 dev eth0 table 100`, for the
    /// status view and the dumps.
    pub fn describe(&self) -> String {
        let s = &self.spec;
        let mut out = format!("{}/{}", s.dst, s.dst_len);
        if let Some(v) = s.via {
            out += &format!(" via {v}");
        }
        if let Some(d) = &self.dev {
            out += &format!(" dev {d}");
        }
        if let Some(p) = s.pref_src {
            out += &format!(" src {p}");
        }
        out += &format!(" table {} proto {}", s.table, s.protocol);
        if let Some(m) = s.metric {
            out += &format!(" metric {m}");
        }
        if !self.tracked {
            out += " no_track";
        }
        out
    }
}

impl RulePlan {
    /// `pref 200 from 192.0.2.100/32 table 100`.
    pub fn describe(&self) -> String {
        let s = &self.spec;
        let mut out = format!("pref {}", s.priority);
        if s.invert {
            out += " not";
        }
        if let Some((a, l)) = s.from {
            out += &format!(" from {a}/{l}");
        }
        if let Some((a, l)) = s.to {
            out += &format!(" to {a}/{l}");
        }
        out += &match s.action {
            keepalived_sys::rule::Action::Table(t) => format!(" table {t}"),
            keepalived_sys::rule::Action::Goto(p) => format!(" goto {p}"),
            other => format!(" {}", format!("{other:?}").to_lowercase()),
        };
        if !self.tracked {
            out += " no_track";
        }
        out
    }
}

fn missing<T: PartialEq + Clone>(from: &[T], other: &[T]) -> Vec<T> {
    from.iter()
        .filter(|x| !other.contains(x))
        .cloned()
        .collect()
}

/// `203.0.113.0/25 table 100`, for the log.
pub fn show(s: &RouteSpec) -> String {
    format!("{}/{} table {}", s.dst, s.dst_len, s.table)
}

/// The route with its interfaces looked up now (an interface may have
/// been recreated with another index since the last time).
async fn resolve(nl: &Netlink, r: &RoutePlan) -> Result<RouteSpec, NetlinkError> {
    let mut spec = r.spec.clone();
    if let Some(dev) = &r.dev {
        spec.oif = Some(index_of(nl, dev).await?);
    }
    for (hop, dev) in spec.nexthops.iter_mut().zip(&r.hop_devs) {
        if let Some(dev) = dev {
            hop.oif = Some(index_of(nl, dev).await?);
        }
    }
    Ok(spec)
}

/// One ioctl, not a netlink dump of the link and its addresses: routes
/// are installed on the takeover path, before the GARP burst.
async fn index_of(nl: &Netlink, name: &str) -> Result<u32, NetlinkError> {
    match nix::net::if_::if_nametoindex(name) {
        Ok(i) => Ok(i),
        // The slow path says precisely why (no such interface, ...).
        Err(_) => Ok(nl.interface_by_name(name).await?.index),
    }
}

pub async fn add_route(nl: &Netlink, r: &RoutePlan, who: &str) {
    let res = match resolve(nl, r).await {
        Ok(spec) => nl.add_route(&spec).await,
        Err(e) => Err(e),
    };
    match res {
        // With `add` the kernel's EEXIST may be another route to the same
        // destination, TOS and metric, which then stays the one used:
        // said rather than taken for ours.
        Ok(RouteOutcome::AlreadyPresent) if r.spec.mode == AddMode::Exclusive => {
            tracing::warn!(
                "({who}) route {} ('add') not added: a route to the same destination, TOS and metric is already there",
                show(&r.spec)
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("({who}) cannot add route {}: {e}", show(&r.spec)),
    }
}

pub async fn add_rule(nl: &Netlink, spec: &keepalived_sys::rule::RuleSpec, who: &str) {
    if let Err(e) = nl.add_rule(spec).await {
        tracing::warn!("({who}) cannot add rule {}: {e}", spec.priority);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use keepalived_sys::rule::{Action, RuleSpec};

    use super::*;

    fn route(dst: &str, table: u32) -> RoutePlan {
        let mut spec = RouteSpec::new(dst.parse().unwrap(), 24);
        spec.table = table;
        RoutePlan {
            spec,
            dev: Some("eth0".into()),
            hop_devs: Vec::new(),
            tracked: true,
        }
    }

    fn rule(pref: u32) -> RulePlan {
        RulePlan {
            spec: RuleSpec::new(false, Action::Table(100), pref),
            tracked: true,
        }
    }

    #[test]
    fn a_reload_diff_names_only_what_changed() {
        let old = Routing {
            routes: vec![route("203.0.113.0", 100), route("198.51.100.0", 100)],
            rules: vec![rule(200), rule(201)],
        };
        let mut changed = route("198.51.100.0", 100);
        changed.tracked = false;
        let new = Routing {
            routes: vec![route("203.0.113.0", 100), changed.clone()],
            rules: vec![rule(200), rule(202)],
        };
        let (gone, added) = old.diff(&new);
        assert_eq!(gone.routes, vec![route("198.51.100.0", 100)]);
        assert_eq!(added.routes, vec![changed]);
        assert_eq!(gone.rules, vec![rule(201)]);
        assert_eq!(added.rules, vec![rule(202)]);
        let (gone, added) = new.diff(&new.clone());
        assert!(gone.is_empty() && added.is_empty(), "same config: nothing");
    }

    #[test]
    fn entries_describe_themselves_for_status_and_dumps() {
        let mut r = route("203.0.113.0", 100);
        r.spec.via = Some("192.0.2.254".parse().unwrap());
        assert_eq!(
            r.describe(),
            "203.0.113.0/24 via 192.0.2.254 dev eth0 table 100 proto 18"
        );
        let mut ru = rule(200);
        ru.spec.from = Some(("192.0.2.100".parse().unwrap(), 32));
        ru.tracked = false;
        assert_eq!(
            ru.describe(),
            "pref 200 from 192.0.2.100/32 table 100 no_track"
        );
        ru.spec.action = Action::Blackhole;
        assert!(ru.describe().contains(" blackhole"));
    }

    #[test]
    fn deletions_find_our_entry() {
        let r = Routing {
            routes: vec![route("203.0.113.0", 100)],
            rules: vec![rule(200)],
        };
        let mut other = route("203.0.113.0", 101).spec;
        other.oif = Some(2);
        let msg_of =
            |s: &RouteSpec| keepalived_sys::route::RouteGone::from_message(&s.message()).unwrap();
        assert_eq!(r.route_gone(&msg_of(&r.routes[0].spec)), Some(0));
        assert_eq!(r.route_gone(&msg_of(&other)), None, "another table");
    }

    /// iproute2's own file names `main` 254 (integration/install-deps
    /// installs iproute2); a name in no file is unknown, before and after
    /// a reload.
    #[test]
    fn system_tables_come_from_iproute2s_files() {
        assert_eq!(system_table("main"), Some(254));
        assert_eq!(system_table("no-such-table-t11"), None);
        reload_system_tables();
        assert_eq!(system_table("main"), Some(254));
        assert_eq!(system_table("no-such-table-t11"), None);
    }
}
