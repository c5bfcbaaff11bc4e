// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `global_defs` (inventory §A.3).
//!
//! Every keyword keepalived 2.2.7 (as built here) accepts in `global_defs`
//! is in the table below; values are typed where later code uses them and
//! kept as written otherwise. `vrrp_ipsets` is deliberately absent: the
//! reference build has no ipset support and reports it as unknown.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::vrrp::GarpExtraIf;
use crate::reader::{Reader, Table};
use crate::syntax::Node;
use crate::types::{Command, Timer};

/// `smtp_server HOST [PORT]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmtpServer {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub host: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub port: u16,
}

/// A FIFO keepalived writes state changes to: `PATH [user [group]]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fifo {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub path: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub group: Option<String>,
}

/// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LvsTimeouts {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub tcp: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub tcpfin: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub udp: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GlobalDefs {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub router_id: Option<String>,
    // notification
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notification_email: Vec<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notification_email_from: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub smtp_server: Option<SmtpServer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub smtp_helo_name: Option<String>,
    /// Seconds (30).
    #[serde(skip_serializing_if = "global_defs_smtp_connect_timeout_is_default")]
    pub smtp_connect_timeout: u32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub smtp_alert: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub smtp_alert_vrrp: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub smtp_alert_checker: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub no_email_faults: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub no_checker_emails: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker_log_all_failures: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub rs_init_notifies: bool,
    // script security
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_script_security: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub script_user: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub script_group: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub startup_script: Option<Command>,
    #[serde(skip_serializing_if = "global_defs_startup_script_timeout_is_default")]
    pub startup_script_timeout: u32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub shutdown_script: Option<Command>,
    #[serde(skip_serializing_if = "global_defs_shutdown_script_timeout_is_default")]
    pub shutdown_script_timeout: u32,
    // notify fifos
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_fifo: Option<Fifo>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_fifo_script: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_notify_fifo: Option<Fifo>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_notify_fifo_script: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_notify_fifo: Option<Fifo>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_notify_fifo_script: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_notify_priority_changes: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub fifo_write_vrrp_states_on_reload: bool,
    // vrrp defaults
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_skip_check_adv_addr: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_strict: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_check_unicast_src: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_garp_interval: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_gna_interval: Option<Timer>,
    /// Seconds (5).
    #[serde(skip_serializing_if = "global_defs_vrrp_garp_master_delay_is_default")]
    pub vrrp_garp_master_delay: u32,
    #[serde(skip_serializing_if = "global_defs_vrrp_garp_master_repeat_is_default")]
    pub vrrp_garp_master_repeat: u32,
    /// Seconds; 0 = no refresh.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_garp_master_refresh: u32,
    #[serde(skip_serializing_if = "global_defs_vrrp_garp_master_refresh_repeat_is_default")]
    pub vrrp_garp_master_refresh_repeat: u32,
    /// None = vrrp_garp_master_delay.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_garp_lower_prio_delay: Option<u32>,
    /// None = vrrp_garp_master_repeat.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_min_garp: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_garp_extra_if: Option<GarpExtraIf>,
    #[serde(skip_serializing_if = "global_defs_vrrp_down_timer_adverts_is_default")]
    pub vrrp_down_timer_adverts: u8,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_lower_prio_no_advert: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_higher_prio_send_advert: Option<bool>,
    #[serde(skip_serializing_if = "global_defs_vrrp_version_is_default")]
    pub vrrp_version: u8,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_mcast_group4: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_mcast_group6: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_startup_delay: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_rx_bufs_policy: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_rx_bufs_multiplier: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vmac_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vmac_addr_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub log_unknown_vrids: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub disable_local_igmp: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub default_interface: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub dynamic_interfaces: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub dynamic_interfaces_allow_if_changes: bool,
    // firewall
    /// `vrrp_iptables [IN [OUT]]` (this build uses nftables instead).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_iptables: Option<Vec<String>>,
    /// Table name ("keepalived").
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nftables: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nftables_priority: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nftables_counters: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nftables_ifindex: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nftables_ipvs: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nftables_ipvs_priority: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nftables_ipvs_start_fwmark: Option<u32>,
    // lvs
    /// `lvs_sync_daemon IF [[inst] VI] [id N] [maxlen N] [port N] [ttl N] [group IP]`, as written.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_sync_daemon: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_timeouts: Option<LvsTimeouts>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_flush: bool,
    /// keepalived-rs extension: `metrics_listen ADDR:PORT` serves
    /// Prometheus metrics there (the `--metrics` flag wins).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `lvs_flush_on_stop [VS]`: None = off, "ALL" or "VS".
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_flush_on_stop: Option<String>,
    // processes
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub process_names: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub process_name: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_process_name: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker_process_name: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bfd_process_name: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub max_auto_priority: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub min_auto_priority_delay: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_priority: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_no_swap: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_rt_priority: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_cpu_affinity: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_rlimit_rttime: Option<u64>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker_priority: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker_no_swap: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker_rt_priority: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker_cpu_affinity: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker_rlimit_rttime: Option<u64>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bfd_priority: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bfd_no_swap: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bfd_rt_priority: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bfd_cpu_affinity: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bfd_rlimit_rttime: Option<u64>,
    // snmp / dbus
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub snmp_socket: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_traps: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_snmp_vrrp: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_snmp_checker: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_snmp_rfc: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_snmp_rfcv2: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_snmp_rfcv3: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_dbus: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub dbus_service_name: Option<String>,
    // netlink buffers
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_netlink_cmd_rcv_bufs: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_netlink_cmd_rcv_bufs_force: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_netlink_monitor_rcv_bufs: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrrp_netlink_monitor_rcv_bufs_force: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_netlink_cmd_rcv_bufs: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_netlink_cmd_rcv_bufs_force: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_netlink_monitor_rcv_bufs: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_netlink_monitor_rcv_bufs_force: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub process_monitor_rcv_bufs: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub process_monitor_rcv_bufs_force: bool,
    // config / reload
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub umask: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub random_seed: Option<u64>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub data_use_instance: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub config_save_dir: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub tmp_config_directory: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub include_check: Option<Vec<String>>,
    /// `reload_check_config [LOGFILE]`.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub reload_check_config: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub reload_time_file: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub reload_repeat: bool,
    /// `reload_file [PATH]`.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub reload_file: Option<String>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: 30,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            no_checker_emails: false,
            checker_log_all_failures: false,
            rs_init_notifies: false,
            enable_script_security: false,
            script_user: None,
            script_group: None,
            startup_script: None,
            startup_script_timeout: 10,
            shutdown_script: None,
            shutdown_script_timeout: 10,
            notify_fifo: None,
            notify_fifo_script: None,
            vrrp_notify_fifo: None,
            vrrp_notify_fifo_script: None,
            lvs_notify_fifo: None,
            lvs_notify_fifo_script: None,
            vrrp_notify_priority_changes: None,
            fifo_write_vrrp_states_on_reload: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_strict: false,
            vrrp_check_unicast_src: false,
            vrrp_garp_interval: None,
            vrrp_gna_interval: None,
            vrrp_garp_master_delay: 5,
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: 0,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: None,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: None,
            vrrp_higher_prio_send_advert: None,
            vrrp_version: 2,
            vrrp_mcast_group4: None,
            metrics_listen: None,
            vrrp_mcast_group6: None,
            vrrp_startup_delay: None,
            vrrp_rx_bufs_policy: None,
            vrrp_rx_bufs_multiplier: None,
            vmac_prefix: None,
            vmac_addr_prefix: None,
            log_unknown_vrids: false,
            disable_local_igmp: false,
            default_interface: None,
            dynamic_interfaces: false,
            dynamic_interfaces_allow_if_changes: false,
            vrrp_iptables: None,
            nftables: None,
            nftables_priority: None,
            nftables_counters: false,
            nftables_ifindex: None,
            nftables_ipvs: None,
            nftables_ipvs_priority: None,
            nftables_ipvs_start_fwmark: None,
            lvs_sync_daemon: None,
            lvs_timeouts: None,
            lvs_flush: false,
            lvs_flush_on_stop: None,
            process_names: false,
            process_name: None,
            vrrp_process_name: None,
            checker_process_name: None,
            bfd_process_name: None,
            max_auto_priority: None,
            min_auto_priority_delay: None,
            vrrp_priority: None,
            vrrp_no_swap: false,
            vrrp_rt_priority: None,
            vrrp_cpu_affinity: None,
            vrrp_rlimit_rttime: None,
            checker_priority: None,
            checker_no_swap: false,
            checker_rt_priority: None,
            checker_cpu_affinity: None,
            checker_rlimit_rttime: None,
            bfd_priority: None,
            bfd_no_swap: false,
            bfd_rt_priority: None,
            bfd_cpu_affinity: None,
            bfd_rlimit_rttime: None,
            snmp_socket: None,
            enable_traps: false,
            enable_snmp_vrrp: false,
            enable_snmp_checker: false,
            enable_snmp_rfc: false,
            enable_snmp_rfcv2: false,
            enable_snmp_rfcv3: false,
            enable_dbus: false,
            dbus_service_name: None,
            vrrp_netlink_cmd_rcv_bufs: None,
            vrrp_netlink_cmd_rcv_bufs_force: false,
            vrrp_netlink_monitor_rcv_bufs: None,
            vrrp_netlink_monitor_rcv_bufs_force: false,
            lvs_netlink_cmd_rcv_bufs: None,
            lvs_netlink_cmd_rcv_bufs_force: false,
            lvs_netlink_monitor_rcv_bufs: None,
            lvs_netlink_monitor_rcv_bufs_force: false,
            process_monitor_rcv_bufs: None,
            process_monitor_rcv_bufs_force: false,
            umask: None,
            random_seed: None,
            data_use_instance: false,
            config_save_dir: None,
            tmp_config_directory: None,
            include_check: None,
            reload_check_config: None,
            reload_time_file: None,
            reload_repeat: false,
            reload_file: None,
        }
    }
}

struct_defaults!(GlobalDefs {
    smtp_connect_timeout: u32 => global_defs_smtp_connect_timeout_is_default,
    startup_script_timeout: u32 => global_defs_startup_script_timeout_is_default,
    shutdown_script_timeout: u32 => global_defs_shutdown_script_timeout_is_default,
    vrrp_garp_master_delay: u32 => global_defs_vrrp_garp_master_delay_is_default,
    vrrp_garp_master_repeat: u32 => global_defs_vrrp_garp_master_repeat_is_default,
    vrrp_garp_master_refresh_repeat: u32 => global_defs_vrrp_garp_master_refresh_repeat_is_default,
    vrrp_down_timer_adverts: u8 => global_defs_vrrp_down_timer_adverts_is_default,
    vrrp_version: u8 => global_defs_vrrp_version_is_default,
});

/// Table entry for an `Option<String>` keyword.
macro_rules! string {
    ($k:literal, $f:ident) => {
        (
            $k,
            |g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>| {
                if let Some(v) = r.string(n) {
                    g.$f = Some(v);
                }
            },
        )
    };
}

/// Table entry for a `bool` keyword (bare, or with on/off).
macro_rules! flag {
    ($k:literal, $f:ident) => {
        (
            $k,
            |g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>| g.$f = r.flag(n),
        )
    };
}

/// Table entry for an `Option<bool>` keyword.
macro_rules! opt_flag {
    ($k:literal, $f:ident) => {
        (
            $k,
            |g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>| g.$f = Some(r.flag(n)),
        )
    };
}

/// Table entry for an integer keyword; `$wrap` is `Some` for Option fields.
macro_rules! int {
    ($k:literal, $f:ident, $lo:expr, $hi:expr) => {
        (
            $k,
            |g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>| {
                if let Some(v) = r.int(n, $lo, $hi) {
                    g.$f = v;
                }
            },
        )
    };
    ($k:literal, $f:ident, $lo:expr, $hi:expr, opt) => {
        (
            $k,
            |g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>| {
                if let Some(v) = r.int(n, $lo, $hi) {
                    g.$f = Some(v);
                }
            },
        )
    };
}

/// Table entry for a command keyword.
macro_rules! command {
    ($k:literal, $f:ident) => {
        (
            $k,
            |g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>| {
                if let Some(c) = r.command(n) {
                    g.$f = Some(c);
                }
            },
        )
    };
}

/// Table entry for `FIFO [user [group]]`.
macro_rules! fifo {
    ($k:literal, $f:ident) => {
        (
            $k,
            |g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>| g.$f = read_fifo(n, r),
        )
    };
}

/// Table entry for a `*_cpu_affinity CPU...` keyword.
macro_rules! cpus {
    ($k:literal, $f:ident) => {
        (
            $k,
            |g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>| g.$f = read_cpus(n, r),
        )
    };
}

fn read_fifo(n: &Node<'_>, r: &mut Reader<'_>) -> Option<Fifo> {
    r.no_block(n);
    let path = r.arg(n, 0)?;
    Some(Fifo {
        path: path.text.to_string(),
        user: n.args.get(1).map(|t| t.text.to_string()),
        group: n.args.get(2).map(|t| t.text.to_string()),
    })
}

fn read_cpus(n: &Node<'_>, r: &mut Reader<'_>) -> Option<Vec<u32>> {
    r.no_block(n);
    r.arg(n, 0)?;
    let mut out = Vec::new();
    for t in &n.args {
        out.push(r.int_tok(t, 0u32, 4095)?);
    }
    Some(out)
}

fn garp_timer(n: &Node<'_>, r: &mut Reader<'_>) -> Option<Timer> {
    r.timer(
        n,
        Timer::from_micros(1),
        Timer::from_micros(u64::from(u32::MAX)),
    )
}

/// A repeat count where keepalived turns 0 into 1 with a warning.
fn repeat(n: &Node<'_>, r: &mut Reader<'_>) -> Option<u32> {
    let v = r.int(n, 0u32, u32::MAX)?;
    if v == 0 {
        r.warn(
            n.loc(),
            format!("{} must be greater than 0; using 1", n.name()),
        );
        return Some(1);
    }
    Some(v)
}

fn rt_priority(n: &Node<'_>, r: &mut Reader<'_>) -> Option<u32> {
    let v = r.int(n, 1u32, u32::MAX)?;
    if v > 99 {
        r.warn(
            n.loc(),
            format!("{} {v} is greater than the maximum 99; using 99", n.name()),
        );
        return Some(99);
    }
    Some(v)
}

fn read_smtp_server(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let Some(host) = r.arg(n, 0) else { return };
    let port = match n.args.get(1) {
        Some(t) => match r.int_tok(t, 1u16, u16::MAX) {
            Some(p) => p,
            None => return,
        },
        None => 25,
    };
    g.smtp_server = Some(SmtpServer {
        host: host.text.to_string(),
        port,
    });
}

fn read_smtp_timeout(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    if let Some(v) = r.int(n, 0u32, u32::MAX / 1_000_000) {
        if v == 0 {
            r.warn(
                n.loc(),
                "smtp_connect_timeout must be greater than 0; using 1",
            );
            g.smtp_connect_timeout = 1;
        } else {
            g.smtp_connect_timeout = v;
        }
    }
}

fn read_emails(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    let items = r.block(n);
    if items.is_empty() {
        r.warn(n.loc(), "empty notification_email block");
    }
    for e in items {
        r.no_block(e);
        g.notification_email.push(e.name().to_string());
        g.notification_email
            .extend(e.arg_strs().map(str::to_string));
    }
}

fn read_script_user(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    if let Some(u) = r.arg(n, 0) {
        g.script_user = Some(u.text.to_string());
        g.script_group = n.args.get(1).map(|t| t.text.to_string());
    }
}

fn read_mcast(n: &Node<'_>, r: &mut Reader<'_>, v6: bool) -> Option<IpAddr> {
    let a = r.ip(n)?;
    if a.is_ipv6() != v6 || !a.is_multicast() {
        r.error(
            n.loc(),
            format!(
                "{} expects an IPv{} multicast address, found {a}; ignored",
                n.name(),
                if v6 { 6 } else { 4 }
            ),
        );
        return None;
    }
    Some(a)
}

fn read_nftables(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    if g.nftables.is_some() {
        r.warn(n.loc(), "nftables already specified; ignored");
        return;
    }
    let name = n
        .args
        .first()
        .map_or_else(|| "keepalived".to_string(), |t| t.text.to_string());
    g.nftables = Some(name);
}

fn read_iptables(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    // keepalived 2.2.7 as built here has no iptables support: it warns
    // and uses nftables with the default table.
    r.warn(
        n.loc(),
        "iptables is not supported; using nftables instead (replace 'vrrp_iptables' with 'nftables')",
    );
    g.vrrp_iptables = Some(n.arg_strs().map(str::to_string).collect());
    if g.nftables.is_none() {
        g.nftables = Some("keepalived".into());
    }
}

fn read_dynamic_interfaces(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    g.dynamic_interfaces = true;
    if let Some(t) = n.args.first() {
        if t.text == "allow_if_changes" {
            g.dynamic_interfaces_allow_if_changes = true;
        } else {
            r.warn(
                &t.loc,
                format!(
                    "unknown dynamic_interfaces option '{}': expected allow_if_changes",
                    t.text
                ),
            );
        }
    }
}

fn read_lvs_timeouts(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    if n.args.is_empty() {
        r.warn(
            n.loc(),
            "lvs_timeouts requires at least one of tcp, tcpfin, udp",
        );
        return;
    }
    let mut t = g.lvs_timeouts.take().unwrap_or_default();
    let mut k = 0;
    while k < n.args.len() {
        let key = &n.args[k];
        let slot = match key.text {
            "tcp" => &mut t.tcp,
            "tcpfin" => &mut t.tcpfin,
            "udp" => &mut t.udp,
            other => {
                r.warn(
                    &key.loc,
                    format!("unknown lvs_timeouts option '{other}': expected tcp, tcpfin or udp"),
                );
                k += 1;
                continue;
            }
        };
        match n.args.get(k + 1) {
            Some(v) => {
                if let Some(x) = r.int_tok(v, 0u32, 86400 * 31) {
                    *slot = Some(x);
                }
            }
            None => r.warn(
                &key.loc,
                format!("no value specified for lvs_timeouts {}; ignored", key.text),
            ),
        }
        k += 2;
    }
    g.lvs_timeouts = Some(t);
}

fn read_flush_on_stop(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    match n.args.first() {
        None => g.lvs_flush_on_stop = Some("ALL".into()),
        Some(t) if t.text == "VS" => g.lvs_flush_on_stop = Some("VS".into()),
        Some(t) => r.warn(
            &t.loc,
            format!("unknown lvs_flush_on_stop type '{}': expected VS", t.text),
        ),
    }
}

fn read_garp_extra_if(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let mut e = GarpExtraIf::default();
    let mut args = n.args.iter().peekable();
    if args.peek().is_some_and(|t| t.text == "all") {
        e.all = true;
        args.next();
    }
    match args.next() {
        Some(t) => {
            if let Some(v) = r.int_tok(t, 0u32, 86400) {
                e.interval = v;
                g.vrrp_garp_extra_if = Some(e);
            }
        }
        None => r.warn(
            n.loc(),
            format!("{} specified without time; ignored", n.name()),
        ),
    }
}

fn read_rx_bufs_policy(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let Some(first) = r.arg(n, 0) else { return };
    for t in &n.args {
        if t.text != "MTU" && t.text != "ADVERT" && t.text.parse::<u32>().is_err() {
            r.error(
                &t.loc,
                format!(
                    "invalid vrrp_rx_bufs_policy '{}': expected MTU, ADVERT or a size",
                    t.text
                ),
            );
            return;
        }
    }
    let _ = first;
    g.vrrp_rx_bufs_policy = Some(n.arg_strs().collect::<Vec<_>>().join(" "));
}

fn read_max_auto_priority(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    // A bare keyword means the highest priority.
    match n.args.first() {
        None => g.max_auto_priority = Some(99),
        Some(t) => {
            if let Some(v) = r.int_tok(t, -1i32, 99) {
                g.max_auto_priority = Some(v);
            }
        }
    }
}

fn read_umask(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let Some(t) = r.arg(n, 0) else { return };
    let all = n.arg_strs().collect::<Vec<_>>().join(" ");
    let numeric = u32::from_str_radix(t.text.trim_start_matches("0o"), 8).is_ok_and(|v| v <= 0o777);
    let symbolic = all.split('|').map(str::trim).all(|b| {
        matches!(
            b,
            "IRUSR" | "IWUSR" | "IXUSR" | "IRGRP" | "IWGRP" | "IXGRP" | "IROTH" | "IWOTH" | "IXOTH"
        )
    });
    if !numeric && !symbolic {
        r.error(
            &t.loc,
            format!("invalid umask '{all}': expected an octal number or IRUSR|IWGRP|... bits"),
        );
        return;
    }
    g.umask = Some(all);
}

fn read_include_check(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    const KNOWN: &[&str] = &["readable", "match", "wildcard_match", "brace_match", "all"];
    for t in &n.args {
        let word = t.text.trim_start_matches(['+', '-']);
        if !KNOWN.contains(&word) {
            r.warn(
                &t.loc,
                format!("unknown include_check type '{}'; ignored", t.text),
            );
        }
    }
    g.include_check = Some(n.arg_strs().map(str::to_string).collect());
}

fn read_default_interface(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    match n.args.first() {
        Some(t) => g.default_interface = Some(t.text.to_string()),
        None => r.error(n.loc(), "default_interface requires an interface name"),
    }
}

fn read_metrics_listen(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    match n.args.first().map(|t| t.text.parse()) {
        Some(Ok(a)) => g.metrics_listen = Some(a),
        Some(Err(_)) => r.error(
            n.loc(),
            "metrics_listen needs ADDR:PORT (IPv6 as [ADDR]:PORT); ignored",
        ),
        None => r.error(n.loc(), "metrics_listen needs ADDR:PORT; ignored"),
    }
}

fn read_router_id(g: &mut GlobalDefs, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    match n.args.first() {
        Some(t) => g.router_id = Some(t.text.to_string()),
        None => r.warn(n.loc(), "router_id name missing; ignored"),
    }
}

const GLOBAL: &Table<GlobalDefs> = &[
    ("router_id", read_router_id),
    ("metrics_listen", read_metrics_listen),
    ("notification_email", read_emails),
    string!("notification_email_from", notification_email_from),
    ("smtp_server", read_smtp_server),
    string!("smtp_helo_name", smtp_helo_name),
    ("smtp_connect_timeout", read_smtp_timeout),
    opt_flag!("smtp_alert", smtp_alert),
    opt_flag!("smtp_alert_vrrp", smtp_alert_vrrp),
    opt_flag!("smtp_alert_checker", smtp_alert_checker),
    flag!("no_email_faults", no_email_faults),
    flag!("no_checker_emails", no_checker_emails),
    flag!("checker_log_all_failures", checker_log_all_failures),
    flag!("rs_init_notifies", rs_init_notifies),
    flag!("enable_script_security", enable_script_security),
    ("script_user", read_script_user),
    command!("startup_script", startup_script),
    int!("startup_script_timeout", startup_script_timeout, 1u32, 1000),
    command!("shutdown_script", shutdown_script),
    int!(
        "shutdown_script_timeout",
        shutdown_script_timeout,
        1u32,
        1000
    ),
    fifo!("notify_fifo", notify_fifo),
    command!("notify_fifo_script", notify_fifo_script),
    fifo!("vrrp_notify_fifo", vrrp_notify_fifo),
    command!("vrrp_notify_fifo_script", vrrp_notify_fifo_script),
    fifo!("lvs_notify_fifo", lvs_notify_fifo),
    command!("lvs_notify_fifo_script", lvs_notify_fifo_script),
    opt_flag!("vrrp_notify_priority_changes", vrrp_notify_priority_changes),
    flag!(
        "fifo_write_vrrp_states_on_reload",
        fifo_write_vrrp_states_on_reload
    ),
    flag!("vrrp_skip_check_adv_addr", vrrp_skip_check_adv_addr),
    flag!("vrrp_strict", vrrp_strict),
    flag!("vrrp_check_unicast_src", vrrp_check_unicast_src),
    ("vrrp_garp_interval", |g, n, r| {
        if let Some(v) = garp_timer(n, r) {
            g.vrrp_garp_interval = Some(v);
        }
    }),
    ("vrrp_gna_interval", |g, n, r| {
        if let Some(v) = garp_timer(n, r) {
            g.vrrp_gna_interval = Some(v);
        }
    }),
    int!(
        "vrrp_garp_master_delay",
        vrrp_garp_master_delay,
        0u32,
        u32::MAX / 1_000_000
    ),
    ("vrrp_garp_master_repeat", |g, n, r| {
        if let Some(v) = repeat(n, r) {
            g.vrrp_garp_master_repeat = v;
        }
    }),
    int!(
        "vrrp_garp_master_refresh",
        vrrp_garp_master_refresh,
        0u32,
        u32::MAX / 1_000_000
    ),
    ("vrrp_garp_master_refresh_repeat", |g, n, r| {
        if let Some(v) = repeat(n, r) {
            g.vrrp_garp_master_refresh_repeat = v;
        }
    }),
    int!(
        "vrrp_garp_lower_prio_delay",
        vrrp_garp_lower_prio_delay,
        0u32,
        u32::MAX / 1_000_000,
        opt
    ),
    int!(
        "vrrp_garp_lower_prio_repeat",
        vrrp_garp_lower_prio_repeat,
        0u32,
        u32::MAX,
        opt
    ),
    flag!("vrrp_min_garp", vrrp_min_garp),
    ("vrrp_garp_extra_if", read_garp_extra_if),
    ("vrrp_vmac_garp_intvl", |g, n, r| {
        r.warn(
            n.loc(),
            "'vrrp_vmac_garp_intvl' is deprecated; use 'vrrp_garp_extra_if'",
        );
        read_garp_extra_if(g, n, r);
    }),
    int!("vrrp_down_timer_adverts", vrrp_down_timer_adverts, 1u8, 100),
    opt_flag!("vrrp_lower_prio_no_advert", vrrp_lower_prio_no_advert),
    opt_flag!("vrrp_higher_prio_send_advert", vrrp_higher_prio_send_advert),
    int!("vrrp_version", vrrp_version, 2u8, 3),
    ("vrrp_mcast_group4", |g, n, r| {
        if let Some(a) = read_mcast(n, r, false) {
            g.vrrp_mcast_group4 = Some(a);
        }
    }),
    ("vrrp_mcast_group6", |g, n, r| {
        if let Some(a) = read_mcast(n, r, true) {
            g.vrrp_mcast_group6 = Some(a);
        }
    }),
    ("vrrp_startup_delay", |g, n, r| {
        if let Some(v) = r.timer(n, Timer::default(), Timer::from_secs(u64::from(u32::MAX))) {
            g.vrrp_startup_delay = Some(v);
        }
    }),
    ("vrrp_rx_bufs_policy", read_rx_bufs_policy),
    int!(
        "vrrp_rx_bufs_multiplier",
        vrrp_rx_bufs_multiplier,
        1u32,
        u32::MAX,
        opt
    ),
    string!("vmac_prefix", vmac_prefix),
    string!("vmac_addr_prefix", vmac_addr_prefix),
    flag!("log_unknown_vrids", log_unknown_vrids),
    flag!("disable_local_igmp", disable_local_igmp),
    ("default_interface", read_default_interface),
    ("dynamic_interfaces", read_dynamic_interfaces),
    ("vrrp_iptables", read_iptables),
    ("nftables", read_nftables),
    int!(
        "nftables_priority",
        nftables_priority,
        i32::MIN,
        i32::MAX,
        opt
    ),
    flag!("nftables_counters", nftables_counters),
    opt_flag!("nftables_ifindex", nftables_ifindex),
    ("nftables_ipvs", |g, n, r| {
        r.no_block(n);
        g.nftables_ipvs = Some(
            n.args
                .first()
                .map_or_else(|| "keepalived_ipvs".to_string(), |t| t.text.to_string()),
        );
    }),
    int!(
        "nftables_ipvs_priority",
        nftables_ipvs_priority,
        i32::MIN,
        i32::MAX,
        opt
    ),
    int!(
        "nftables_ipvs_start_fwmark",
        nftables_ipvs_start_fwmark,
        1u32,
        u32::MAX,
        opt
    ),
    ("lvs_sync_daemon", |g, n, r| {
        r.no_block(n);
        if r.arg(n, 0).is_some() {
            g.lvs_sync_daemon = Some(n.arg_strs().map(str::to_string).collect());
        }
    }),
    ("lvs_timeouts", read_lvs_timeouts),
    flag!("lvs_flush", lvs_flush),
    ("lvs_flush_on_stop", read_flush_on_stop),
    ("lvs_flush_onstop", read_flush_on_stop),
    flag!("process_names", process_names),
    string!("process_name", process_name),
    string!("vrrp_process_name", vrrp_process_name),
    string!("checker_process_name", checker_process_name),
    ("lvs_process_name", |g, n, r| {
        r.warn(
            n.loc(),
            "'lvs_process_name' is deprecated; use 'checker_process_name'",
        );
        if let Some(v) = r.string(n) {
            g.checker_process_name = Some(v);
        }
    }),
    string!("bfd_process_name", bfd_process_name),
    ("max_auto_priority", read_max_auto_priority),
    int!(
        "min_auto_priority_delay",
        min_auto_priority_delay,
        0u32,
        u32::MAX,
        opt
    ),
    int!("vrrp_priority", vrrp_priority, -20i32, 19, opt),
    flag!("vrrp_no_swap", vrrp_no_swap),
    ("vrrp_rt_priority", |g, n, r| {
        g.vrrp_rt_priority = rt_priority(n, r)
    }),
    cpus!("vrrp_cpu_affinity", vrrp_cpu_affinity),
    int!(
        "vrrp_rlimit_rttime",
        vrrp_rlimit_rttime,
        1u64,
        u64::from(u32::MAX),
        opt
    ),
    int!(
        "vrrp_rlimit_rtime",
        vrrp_rlimit_rttime,
        1u64,
        u64::from(u32::MAX),
        opt
    ),
    int!("checker_priority", checker_priority, -20i32, 19, opt),
    flag!("checker_no_swap", checker_no_swap),
    ("checker_rt_priority", |g, n, r| {
        g.checker_rt_priority = rt_priority(n, r)
    }),
    cpus!("checker_cpu_affinity", checker_cpu_affinity),
    int!(
        "checker_rlimit_rttime",
        checker_rlimit_rttime,
        1u64,
        u64::from(u32::MAX),
        opt
    ),
    int!(
        "checker_rlimit_rtime",
        checker_rlimit_rttime,
        1u64,
        u64::from(u32::MAX),
        opt
    ),
    int!("bfd_priority", bfd_priority, -20i32, 19, opt),
    flag!("bfd_no_swap", bfd_no_swap),
    ("bfd_rt_priority", |g, n, r| {
        g.bfd_rt_priority = rt_priority(n, r)
    }),
    cpus!("bfd_cpu_affinity", bfd_cpu_affinity),
    int!(
        "bfd_rlimit_rttime",
        bfd_rlimit_rttime,
        1u64,
        u64::from(u32::MAX),
        opt
    ),
    int!(
        "bfd_rlimit_rtime",
        bfd_rlimit_rttime,
        1u64,
        u64::from(u32::MAX),
        opt
    ),
    string!("snmp_socket", snmp_socket),
    flag!("enable_traps", enable_traps),
    flag!("enable_snmp_vrrp", enable_snmp_vrrp),
    flag!("enable_snmp_keepalived", enable_snmp_vrrp),
    flag!("enable_snmp_checker", enable_snmp_checker),
    flag!("enable_snmp_rfc", enable_snmp_rfc),
    flag!("enable_snmp_rfcv2", enable_snmp_rfcv2),
    flag!("enable_snmp_rfcv3", enable_snmp_rfcv3),
    flag!("enable_dbus", enable_dbus),
    string!("dbus_service_name", dbus_service_name),
    int!(
        "vrrp_netlink_cmd_rcv_bufs",
        vrrp_netlink_cmd_rcv_bufs,
        0u32,
        u32::MAX,
        opt
    ),
    flag!(
        "vrrp_netlink_cmd_rcv_bufs_force",
        vrrp_netlink_cmd_rcv_bufs_force
    ),
    int!(
        "vrrp_netlink_monitor_rcv_bufs",
        vrrp_netlink_monitor_rcv_bufs,
        0u32,
        u32::MAX,
        opt
    ),
    flag!(
        "vrrp_netlink_monitor_rcv_bufs_force",
        vrrp_netlink_monitor_rcv_bufs_force
    ),
    int!(
        "lvs_netlink_cmd_rcv_bufs",
        lvs_netlink_cmd_rcv_bufs,
        0u32,
        u32::MAX,
        opt
    ),
    flag!(
        "lvs_netlink_cmd_rcv_bufs_force",
        lvs_netlink_cmd_rcv_bufs_force
    ),
    int!(
        "lvs_netlink_monitor_rcv_bufs",
        lvs_netlink_monitor_rcv_bufs,
        0u32,
        u32::MAX,
        opt
    ),
    flag!(
        "lvs_netlink_monitor_rcv_bufs_force",
        lvs_netlink_monitor_rcv_bufs_force
    ),
    int!(
        "process_monitor_rcv_bufs",
        process_monitor_rcv_bufs,
        0u32,
        u32::MAX,
        opt
    ),
    flag!(
        "process_monitor_rcv_bufs_force",
        process_monitor_rcv_bufs_force
    ),
    ("umask", read_umask),
    int!("random_seed", random_seed, 0u64, u64::from(u32::MAX), opt),
    flag!("data_use_instance", data_use_instance),
    string!("config_save_dir", config_save_dir),
    string!("tmp_config_directory", tmp_config_directory),
    ("include_check", read_include_check),
    ("reload_check_config", |g, n, r| {
        r.no_block(n);
        g.reload_check_config = Some(n.arg_strs().collect::<Vec<_>>().join(" "));
    }),
    string!("reload_time_file", reload_time_file),
    flag!("reload_repeat", reload_repeat),
    ("reload_file", |g, n, r| {
        r.no_block(n);
        g.reload_file = Some(n.args.first().map_or_else(
            || "/run/keepalived.reload".to_string(),
            |t| t.text.to_string(),
        ));
    }),
];

/// The keywords `global_defs` knows (for `-d` and tests).
pub fn keywords() -> impl Iterator<Item = &'static str> {
    GLOBAL.iter().map(|(k, _)| *k)
}

pub fn read(g: &mut GlobalDefs, node: &Node<'_>, r: &mut Reader<'_>) {
    let items = r.block(node);
    r.read_block(g, items, GLOBAL);
}
