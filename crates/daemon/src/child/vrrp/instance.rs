// SPDX-License-Identifier: Apache-2.0 OR MIT
//! One running VRRP instance: the state machine plus everything the shell
//! derived from the configuration and the kernel to drive it.

use std::net::IpAddr;
use std::sync::Arc;

use keepalived_config::Config;
use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::vrrp::{AuthType as ConfAuthType, VrrpInstance};
use keepalived_vrrp::node::vmac::free_name;
use keepalived_vrrp::node::{InstanceSpec, VmacSpec};
use keepalived_vrrp::packet::{
    Advert, Auth, DropReason, Family, MCAST_GROUP4, RxExpect, RxStats, UnicastChecksum,
    UnicastPeer, Version,
};

use super::core::ReceiverKey;
use super::io::{self, Listen, VipSpec, VrrpSender};
use super::routing::Routing;

/// What makes two configurations "the same instance" across a reload:
/// when it is unchanged the instance keeps its state (inventory §C.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub vrid: u8,
    pub family: Family,
    pub interface: String,
    pub unicast_peers: Vec<IpAddr>,
    pub unicast_src: Option<IpAddr>,
    /// The VMAC's name and MAC: another VMAC is another instance (its
    /// VIPs move to another link). `vmac_xmit_base` is not part of it:
    /// as keepalived, a reload switches the advert link in place.
    pub vmac: Option<(String, [u8; 6])>,
    /// The address VMACs (`use_vmac_addr`): names, links and MACs.
    pub addr_vmacs: Vec<(String, String, [u8; 6])>,
}

/// Counters beyond what the receive path counts (keepalived's names).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub rx: RxStats,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub pri_zero_sent: u64,
    /// Every state change, the first BACKUP at start included (metrics).
    pub transitions: u64,
    /// When the last state change happened (keepalived.json's
    /// `last_transition`); None before the first.
    pub last_transition: Option<std::time::SystemTime>,
}

/// The shell's side of one instance; its state machine, tracking and
/// fault causes live in the node (`Core::node`, same index).
pub struct Live {
    pub conf: VrrpInstance,
    pub identity: Identity,
    pub expect: RxExpect,
    /// Where the VIPs without a `dev` go and GARPs leave from: the VMAC
    /// when there is one, else the configured interface.
    pub ifindex: u32,
    /// The configured interface (the advert source is read there).
    pub base_ifindex: u32,
    /// Where adverts are sent and received: the VMAC unless
    /// `vmac_xmit_base`, else the configured interface.
    pub advert_link: AdvertLink,
    pub vmac: Option<VmacSpec>,
    pub addr_vmacs: Vec<VmacSpec>,
    /// Advert source: configured, else the interface's primary address.
    pub src: Option<IpAddr>,
    /// `virtual_ipaddress` then `virtual_ipaddress_excluded`.
    pub vips: Vec<VipSpec>,
    /// `virtual_routes` and `virtual_rules`, installed with the VIPs.
    pub routing: Routing,
    /// Where multicast adverts go.
    pub group: IpAddr,
    /// Our adverts' template (priority set per send).
    pub advert: Advert,
    pub skip_check_adv_addr: bool,
    /// The v3 address-list mismatch last warned about; cleared by an
    /// advert whose list agrees, so each new disagreement is warned once.
    last_mismatch: Option<DropReason>,
    pub counters: Counters,
    /// The counters at the last STATS_CLEAR: the dumps show what came
    /// after it, the counters themselves stay monotonic for metrics.
    pub stats_base: Counters,
    /// GARP/NA: the link's MAC and an AF_PACKET sender, kept from the
    /// first takeover on so that the next one sends its first round at
    /// once (a reload forgets them).
    pub garp: Option<io::GarpOut>,
    /// Bound to `src`; opened at the first advert, dropped when `src`
    /// changes.
    pub sender: Option<Arc<VrrpSender>>,
}

/// The links of a running instance (see [`Live`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    pub vips: u32,
    pub base: u32,
    pub advert: AdvertLink,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertLink {
    pub index: u32,
    pub name: String,
}

/// The parts of an instance derived from configuration alone.
pub struct Plan {
    pub conf: VrrpInstance,
    pub identity: Identity,
    /// What the node tracks for it (the state machine's parameters
    /// included).
    pub spec: InstanceSpec,
    pub expect: RxExpect,
    pub vips: Vec<VipSpec>,
    pub routing: Routing,
    pub group: IpAddr,
    pub advert: Advert,
    pub skip_check_adv_addr: bool,
    pub vmac: Option<VmacSpec>,
    pub addr_vmacs: Vec<VmacSpec>,
}

/// `virtual_ipaddress` then `virtual_ipaddress_excluded`, as installed.
pub(super) fn vip_specs(conf: &VrrpInstance) -> Vec<VipSpec> {
    conf.virtual_ipaddress
        .iter()
        .chain(&conf.virtual_ipaddress_excluded)
        .map(vip_spec)
        .collect()
}

fn vip_spec(a: &keepalived_config::model::addr::IpAddress) -> VipSpec {
    // `brd` and `scope` are read as for a static address.
    let st = super::routing::address_spec(a, 0);
    VipSpec {
        broadcast: st.broadcast,
        scope: st.scope,
        address: a.address,
        prefix_len: a.prefix_len,
        dev: a.dev.clone(),
        label: a.label.clone(),
        // An IPv6 VIP must answer at once on takeover; DAD would keep it
        // tentative (and unusable) for a second or more.
        nodad: a.nodad || a.address.is_ipv6(),
    }
}

pub fn plan(conf: &VrrpInstance, config: &Config) -> Result<Plan, String> {
    let g = &config.global_defs;
    let spec =
        keepalived_vrrp::node::config::instance_spec(conf, config).map_err(|e| e.to_string())?;
    let params = spec.params.clone();
    let interface = conf
        .interface
        .clone()
        .ok_or_else(|| format!("({}) no interface configured", conf.name))?;
    let family = if conf.is_ipv6() {
        Family::Ipv6
    } else {
        Family::Ipv4
    };
    let version = params.version;
    let advert_addrs: Vec<IpAddr> = conf
        .virtual_ipaddress
        .iter()
        .map(|a| a.address)
        .filter(|a| Family::of(*a) == family)
        .collect();
    let vmac = VmacSpec::of(conf, g, params.vrid, family);
    let mut vips = vip_specs(conf);
    if let Some(v) = &vmac {
        on_vmac(&mut vips, v);
    }
    let addr_vmacs =
        keepalived_vrrp::node::vmac::addr_vmacs(conf, g, params.vrid, family, vmac.as_ref());
    for (v, addrs) in &addr_vmacs {
        for vip in vips.iter_mut().filter(|vip| addrs.contains(&vip.address)) {
            vip.dev = Some(v.name.clone());
        }
    }
    let addr_vmacs: Vec<VmacSpec> = addr_vmacs.into_iter().map(|(v, _)| v).collect();
    let auth = match (&conf.authentication, version) {
        (Some(a), Version::V2) if a.auth_type == Some(ConfAuthType::Pass) => {
            Auth::pass(a.auth_pass.as_deref().unwrap_or_default().as_bytes())
        }
        (Some(a), Version::V2) if a.auth_type == Some(ConfAuthType::Ah) => {
            tracing::warn!(
                "({}) IPsec AH authentication is not supported; sending without authentication",
                conf.name
            );
            Auth::None
        }
        _ => Auth::None,
    };
    let cs = u16::try_from(params.advert_int.as_millis() / 10).unwrap_or(u16::MAX);
    let mut expect = RxExpect::new(family, version, params.vrid, cs, advert_addrs.clone());
    expect.auth = auth;
    expect.unicast_peers = conf
        .unicast_peer
        .iter()
        .map(|p| UnicastPeer {
            address: p.address,
            min_ttl: p.min_ttl,
            max_ttl: p.max_ttl,
        })
        .collect();
    expect.check_unicast_src = conf.check_unicast_src || g.vrrp_check_unicast_src;
    expect.unicast_checksum = match conf.old_unicast_checksum.as_deref() {
        None => UnicastChecksum::Standard,
        Some("never") => UnicastChecksum::Never,
        Some(_) => UnicastChecksum::Old,
    };
    let group4 = conf.mcast_dst_ip.or(g.vrrp_mcast_group4);
    let group6 = conf.mcast_dst_ip.or(g.vrrp_mcast_group6);
    let group = io::default_group(family, group4, group6);
    if let IpAddr::V4(g4) = group {
        expect.mcast_group4 = g4;
    }
    let mut peers: Vec<IpAddr> = conf.unicast_peer.iter().map(|p| p.address).collect();
    peers.sort();
    let identity = Identity {
        name: conf.name.clone(),
        vrid: params.vrid,
        family,
        interface,
        unicast_peers: peers,
        // keepalived reads `mcast_src_ip` with the same handler as
        // `unicast_src_ip`: both name the advert source.
        unicast_src: conf.unicast_src_ip.or(conf.mcast_src_ip),
        vmac: vmac.as_ref().map(|v| (v.name.clone(), v.mac)),
        addr_vmacs: addr_vmacs
            .iter()
            .map(|v| (v.name.clone(), v.base.clone(), v.mac))
            .collect(),
    };
    Ok(Plan {
        conf: conf.clone(),
        identity,
        advert: Advert {
            version,
            vrid: params.vrid,
            priority: params.priority,
            max_advert_int_cs: cs,
            auth,
            addresses: advert_addrs,
        },
        spec,
        expect,
        vips,
        routing: Routing::of_instance(conf),
        vmac,
        addr_vmacs,
        group,
        skip_check_adv_addr: conf
            .skip_check_adv_addr
            .unwrap_or(g.vrrp_skip_check_adv_addr),
    })
}

/// keepalived names VMACs in configuration order: a generated name an
/// earlier VMAC already has (an IPv4 and an IPv6 instance with the same
/// VRID both default to `vrrp.<VRID>`) moves on to the next free one
/// (`vrrp6.<VRID>` for IPv6, see [`free_name`]). Configured names are
/// kept as they are.
pub fn unique_vmac_names(plans: &mut [Plan], g: &GlobalDefs) {
    let own_prefix = g.vmac_prefix.as_deref().unwrap_or("vrrp");
    let addr_prefix = g.vmac_addr_prefix.as_deref().unwrap_or(own_prefix);
    let mut taken: Vec<String> = Vec::new();
    for p in plans.iter_mut() {
        let named = p.conf.use_vmac.as_ref().is_some_and(|v| v.name.is_some());
        if let Some(v) = &mut p.vmac {
            if !named && taken.contains(&v.name) {
                v.name = free_name(own_prefix, p.identity.vrid, v.family, &taken);
                p.identity.vmac = Some((v.name.clone(), v.mac));
            }
            taken.push(v.name.clone());
        }
        let mut renamed = false;
        for v in &mut p.addr_vmacs {
            if taken.contains(&v.name) {
                let new = free_name(addr_prefix, p.identity.vrid, v.family, &taken);
                for vip in p
                    .vips
                    .iter_mut()
                    .filter(|vip| vip.dev.as_deref() == Some(&v.name))
                {
                    vip.dev = Some(new.clone());
                }
                v.name = new;
                renamed = true;
            }
            taken.push(v.name.clone());
        }
        if renamed {
            p.identity.addr_vmacs = p
                .addr_vmacs
                .iter()
                .map(|v| (v.name.clone(), v.base.clone(), v.mac))
                .collect();
        }
    }
}

/// keepalived puts the VIPs of the instance's family that name no other
/// link on the VMAC (`dev` None); one of the other family stays on the
/// configured interface, so it gets that `dev` explicitly.
fn on_vmac(vips: &mut [VipSpec], v: &VmacSpec) {
    for vip in vips {
        let same_family = Family::of(vip.address) == v.family;
        let on_base = vip.dev.as_deref().is_none_or(|d| d == v.base);
        if !on_base {
            continue;
        }
        vip.dev = if same_family {
            None
        } else {
            Some(v.base.clone())
        };
    }
}

impl Live {
    /// The instance's shell part; `plan.spec` goes to the node.
    pub fn new(plan: Plan, links: Links, src: Option<IpAddr>) -> Self {
        Self {
            conf: plan.conf,
            identity: plan.identity,
            expect: plan.expect,
            ifindex: links.vips,
            base_ifindex: links.base,
            advert_link: links.advert,
            vmac: plan.vmac,
            addr_vmacs: plan.addr_vmacs,
            src,
            vips: plan.vips,
            routing: plan.routing,
            group: plan.group,
            advert: plan.advert,
            skip_check_adv_addr: plan.skip_check_adv_addr,
            last_mismatch: None,
            counters: Counters::default(),
            stats_base: Counters::default(),
            garp: None,
            sender: None,
        }
    }

    /// Takes a reloaded plan of the same identity; returns the VIPs that
    /// left the configuration (to remove if we hold them), those that
    /// joined (to add if we are master) and the node's new spec (with our
    /// source address).
    pub fn reload(&mut self, plan: Plan) -> (Vec<VipSpec>, Vec<VipSpec>, InstanceSpec) {
        let gone: Vec<VipSpec> = self
            .vips
            .iter()
            .filter(|v| !plan.vips.contains(v))
            .cloned()
            .collect();
        let new: Vec<VipSpec> = plan
            .vips
            .iter()
            .filter(|v| !self.vips.contains(v))
            .cloned()
            .collect();
        let mut spec = plan.spec;
        spec.params.src_addr = self.src;
        let checksum = self.expect.unicast_checksum;
        self.conf = plan.conf;
        self.expect = plan.expect;
        // A detected old-style peer stays detected across a reload.
        if checksum == UnicastChecksum::OldDetected
            && self.expect.unicast_checksum == UnicastChecksum::Standard
        {
            self.expect.unicast_checksum = checksum;
        }
        self.vips = plan.vips;
        self.group = plan.group;
        self.advert = plan.advert;
        self.skip_check_adv_addr = plan.skip_check_adv_addr;
        self.garp = None;
        if let (Some(old), Some(new)) = (&self.vmac, &plan.vmac)
            && old.xmit_base != new.xmit_base
        {
            self.advert_link = if new.xmit_base {
                AdvertLink {
                    index: self.base_ifindex,
                    name: new.base.clone(),
                }
            } else {
                AdvertLink {
                    index: self.ifindex,
                    name: new.name.clone(),
                }
            };
            // Another link: another socket (the receiver follows in
            // `ensure_receivers`).
            self.sender = None;
        }
        self.vmac = plan.vmac;
        (gone, new, spec)
    }

    /// Where adverts go: every unicast peer, else the group.
    pub fn destinations(&self) -> Vec<IpAddr> {
        if self.conf.unicast_peer.is_empty() {
            vec![self.group]
        } else {
            self.conf.unicast_peer.iter().map(|p| p.address).collect()
        }
    }

    /// The pseudo-header destination for a v3 IPv4 advert to `dst`.
    pub fn checksum_destination(&self, dst: IpAddr) -> IpAddr {
        if self.conf.unicast_peer.is_empty() {
            dst
        } else {
            let group = match self.group {
                IpAddr::V4(g) => g,
                IpAddr::V6(_) => MCAST_GROUP4,
            };
            self.expect.unicast_checksum.pseudo_destination(dst, group)
        }
    }

    /// Records an accepted advert's address-list mismatch (None: the
    /// lists agree); true when it is one to warn about.
    pub fn note_mismatch(&mut self, mismatch: Option<&DropReason>) -> bool {
        if self.last_mismatch.as_ref() == mismatch {
            return false;
        }
        self.last_mismatch = mismatch.cloned();
        mismatch.is_some()
    }

    pub fn family(&self) -> Family {
        self.identity.family
    }

    pub fn ifname(&self) -> &str {
        &self.identity.interface
    }

    /// The receiver this instance's adverts arrive on.
    pub fn receiver_key(&self) -> ReceiverKey {
        (
            self.advert_link.index,
            self.family(),
            listen(&self.conf, self.group),
        )
    }

    /// The advert TTL / hop limit to unicast peers (`unicast_ttl`).
    pub fn unicast_ttl(&self) -> u8 {
        self.conf.unicast_ttl.unwrap_or(255)
    }

    /// The VIP addresses, for cleanup and for excluding them from the
    /// primary-address choice.
    pub fn vip_addresses(&self) -> Vec<IpAddr> {
        self.vips.iter().map(|v| v.address).collect()
    }
}

/// What an instance's receiver listens to: its group, or (unicast
/// peers) unicast adverts.
pub fn listen(conf: &VrrpInstance, group: IpAddr) -> Listen {
    conf.unicast_peer.is_empty().then_some(group)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn live() -> Live {
        let conf: VrrpInstance = serde_json::from_value(serde_json::json!({
            "name": "VI_1",
            "interface": "veth0",
            "virtual_router_id": 51,
        }))
        .unwrap();
        let config = Config {
            vrrp_instances: vec![conf.clone()],
            ..Config::default()
        };
        let plan = plan(&conf, &config).unwrap();
        let links = Links {
            vips: 2,
            base: 2,
            advert: AdvertLink {
                index: 2,
                name: "veth0".into(),
            },
        };
        Live::new(plan, links, None)
    }

    #[test]
    fn dual_stack_instances_with_one_vrid_get_vrrp_and_vrrp6() {
        let inst = |name: &str, vip: &str| -> VrrpInstance {
            serde_json::from_value(serde_json::json!({
                "name": name,
                "interface": "eth0",
                "virtual_router_id": 51,
                "use_vmac": {},
                "virtual_ipaddress": [{"address": vip, "prefix_len": 64}],
            }))
            .unwrap()
        };
        let (v4, v6) = (inst("VI_4", "192.0.2.1"), inst("VI_6", "2001:db8::1"));
        let config = Config {
            vrrp_instances: vec![v4.clone(), v6.clone()],
            ..Config::default()
        };
        let mut plans = vec![plan(&v4, &config).unwrap(), plan(&v6, &config).unwrap()];
        unique_vmac_names(&mut plans, &config.global_defs);
        let names: Vec<&str> = plans
            .iter()
            .filter_map(|p| p.vmac.as_ref().map(|v| v.name.as_str()))
            .collect();
        assert_eq!(names, ["vrrp.51", "vrrp6.51"]);
        assert_eq!(
            plans[1].identity.vmac.as_ref().map(|(n, _)| n.as_str()),
            Some("vrrp6.51")
        );
    }

    #[test]
    fn vmac_takes_the_vips_of_its_family_that_name_no_other_link() {
        let conf: VrrpInstance = serde_json::from_value(serde_json::json!({
            "name": "VI_1",
            "interface": "eth0",
            "virtual_router_id": 51,
            "use_vmac": {},
            "virtual_ipaddress": [
                {"address": "192.0.2.100", "prefix_len": 32},
                {"address": "192.0.2.101", "prefix_len": 32, "dev": "eth0"},
                {"address": "192.0.2.102", "prefix_len": 32, "dev": "eth1"},
            ],
            "virtual_ipaddress_excluded": [
                {"address": "2001:db8::1", "prefix_len": 64},
            ],
        }))
        .unwrap();
        let config = Config {
            vrrp_instances: vec![conf.clone()],
            ..Config::default()
        };
        let p = plan(&conf, &config).unwrap();
        let devs: Vec<Option<&str>> = p.vips.iter().map(|v| v.dev.as_deref()).collect();
        assert_eq!(devs, [None, None, Some("eth1"), Some("eth0")]);
        let v = p.vmac.unwrap();
        assert_eq!(v.name, "vrrp.51");
        assert_eq!(p.identity.vmac, Some((v.name, v.mac)));
    }

    #[test]
    fn each_new_address_list_mismatch_is_warned_once() {
        let mut l = live();
        let missing = DropReason::AddressMissing {
            address: "192.0.2.100".parse().unwrap(),
        };
        let count = DropReason::AddressCountMismatch {
            received: 2,
            expected: 1,
        };
        assert!(!l.note_mismatch(None), "agreeing lists: nothing to warn");
        assert!(l.note_mismatch(Some(&missing)));
        assert!(!l.note_mismatch(Some(&missing)), "same mismatch again");
        assert!(l.note_mismatch(Some(&count)), "another mismatch");
        assert!(!l.note_mismatch(None));
        assert!(
            l.note_mismatch(Some(&count)),
            "the lists agreed in between: warn again"
        );
    }
}
