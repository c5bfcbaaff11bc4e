// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `track_group` on static addresses, routes and rules
//! (vrrp_static_track.c `static_track_group_init`): every instance of
//! the group tracks the entry's interface with weight 0, so that
//! interface going down puts those instances in FAULT. The interface is
//! the address's `dev` (else `default_interface`), the route's `dev`,
//! the rule's `iif`; an entry without one, or with `no_track`, tracks
//! nothing (keepalived says so when it reads the configuration).

use keepalived_config::Config;

use crate::node::track::TrackUse;

/// The interfaces instance `name` tracks through static entries.
pub fn uses(name: &str, cfg: &Config) -> Vec<TrackUse> {
    let in_group = |g: &Option<String>| {
        g.as_deref().is_some_and(|g| {
            cfg.track_groups
                .iter()
                .any(|t| t.name == g && t.group.iter().any(|m| m == name))
        })
    };
    let default_if = cfg.global_defs.default_interface.as_ref();
    let addrs = cfg
        .static_ipaddress
        .iter()
        .filter(|a| !a.no_track && in_group(&a.track_group))
        .filter_map(|a| a.dev.as_ref().or(default_if));
    let routes = cfg
        .static_routes
        .iter()
        .filter(|r| !r.no_track && in_group(&r.track_group))
        .filter_map(|r| r.dev.as_ref());
    let rules = cfg
        .static_rules
        .iter()
        .filter(|r| !r.no_track && in_group(&r.track_group))
        .filter_map(|r| r.iif.as_ref());
    let mut names: Vec<&String> = addrs.chain(routes).chain(rules).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|n| TrackUse {
            name: n.clone(),
            weight: 0,
            reverse: false,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use keepalived_config::preprocess::Options;
    use keepalived_config::{SystemHost, load_str};

    use super::*;

    #[test]
    fn members_track_the_interfaces_of_their_static_entries() {
        let text = "global_defs {\n default_interface lo\n}\n\
            track_group TG {\n group {\n  VI_1\n }\n}\n\
            static_ipaddress {\n 192.0.2.60/24 track_group TG\n 192.0.2.61/24 dev lo no_track\n}\n\
            static_routes {\n 203.0.113.0/24 dev lo track_group TG\n}\n\
            static_rules {\n iif lo table 100 preference 10 track_group TG\n}\n\
            vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n \
            virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n";
        let loaded = load_str(Path::new("t.conf"), text, &Options::default(), &SystemHost);
        let cfg = loaded.config;
        assert_eq!(cfg.track_groups.len(), 1, "{:?}", loaded.diagnostics);
        let u = uses("VI_1", &cfg);
        assert_eq!(u.len(), 1, "{u:?}");
        assert_eq!((u[0].name.as_str(), u[0].weight), ("lo", 0));
        assert!(uses("VI_2", &cfg).is_empty(), "not a member");
    }
}
