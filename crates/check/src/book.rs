// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The health book: every virtual server, its real servers and their
//! checker machines, with keepalived's state rules between them
//! (ipwrapper.c `update_svr_checker_state`, `set_checker_state`,
//! `update_svr_wgt`; reference §4):
//! * a real server is alive when none of its checkers is down (one with
//!   no checkers is always alive);
//! * its weight is the configured one plus the dynamic parts its checkers
//!   set (MISC `misc_dynamic`), clamped for IPVS.
//!
//! The book answers the desired table's questions ([`HealthView`]); the
//! reconciler moves it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use keepalived_config::model::Config;
use keepalived_config::model::checker::Checker;
use keepalived_config::model::lvs::{RealServer, VirtualServer};
use keepalived_config::types::Command;
use serde::{Deserialize, Serialize};

use crate::effect::{Kind, LogContext};
use crate::expand;
use crate::health::HealthView;
use crate::ids::{RealServerId, ServerName, VirtualServerId, rs_name_of, server_name};
use crate::machine::{CheckerStatus, Machine, Schedule, Start, Timing, file_status};
use crate::time::Instant;

/// A checker's identity: two checkers with equal identities run the same
/// probe (keepalived's `compare()`: kind and connection options, never the
/// timers). The daemon derives it from the probe's spec key; [`of_config`]
/// is the configuration-only stand-in.
///
/// Kept as a 128-bit digest of the key's text, not the text: a pool of
/// 100 000 checkers would otherwise hold two strings of a few hundred
/// bytes per checker. Two different keys colliding is a 2^-64 event at
/// that size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity(pub u128);

impl Identity {
    /// The identity of a key's canonical text.
    pub fn of(text: &str) -> Identity {
        use std::hash::{Hash, Hasher};
        // SipHash with fixed keys: the same text gives the same identity
        // in every process (a reload compares old and new).
        let half = |salt: u8| {
            let mut h = std::hash::DefaultHasher::new();
            salt.hash(&mut h);
            text.hash(&mut h);
            h.finish()
        };
        Identity((u128::from(half(1)) << 64) | u128::from(half(2)))
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl Serialize for Identity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        u128::from_str_radix(&text, 16)
            .map(Identity)
            .map_err(serde::de::Error::custom)
    }
}

/// The identity of `checker` from the configuration alone: the checker
/// with its timer keywords (and the options keepalived's `compare()`
/// ignores) cleared, plus its target.
pub fn of_config(rs: &RealServer, checker: &Checker) -> Identity {
    let mut c = checker.clone();
    let clear = |common: &mut keepalived_config::model::checker::CheckerCommon| {
        common.delay_loop = None;
        common.retry = None;
        common.delay_before_retry = None;
        common.warmup = None;
        common.alpha = None;
        common.log_all_failures = None;
    };
    match &mut c {
        Checker::TcpCheck(x) => clear(&mut x.common),
        Checker::HttpGet(x) | Checker::SslGet(x) => {
            clear(&mut x.common);
            x.http_protocol = Default::default();
            x.enable_sni = false;
            x.fast_recovery = false;
        }
        Checker::MiscCheck(x) => {
            clear(&mut x.common);
            x.misc_timeout = None;
        }
        Checker::SmtpCheck(x) => clear(&mut x.common),
        Checker::DnsCheck(x) => clear(&mut x.common),
        Checker::UdpCheck(x) => clear(&mut x.common),
        Checker::PingCheck(x) => clear(&mut x.common),
        Checker::FileCheck(_) => {}
        Checker::BfdCheck(x) => x.alpha = None,
    }
    // JSON, not Debug: source locations are not part of it.
    let body = serde_json::to_string(&c).unwrap_or_else(|_| format!("{c:?}"));
    Identity::of(&format!("{}:{}:{body}", rs.ip, rs.port.unwrap_or(0)))
}

/// A checker's two names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identified {
    /// keepalived's reload identity (kept state across a reload).
    pub identity: Identity,
    /// Equal for checkers whose runs give the same result (same bytes on
    /// the wire, same judgement): one run may serve them all. At least as
    /// strict as `identity`.
    pub share: Identity,
}

/// Resolves what a checker is and how it runs; the daemon gives one that
/// also builds the probe (and refuses kinds it cannot run).
pub trait Identify {
    fn identify(
        &mut self,
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Identified, String>;

    /// Every checker `checker` stands for: one, except an SMTP_CHECK with
    /// the deprecated `host { }` blocks, which keepalived turns into one
    /// checker per host.
    fn identify_all(
        &mut self,
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Vec<Identified>, String> {
        self.identify(config, vs, rs, checker).map(|i| vec![i])
    }

    /// The value in track file `name` now (FILE_CHECK), read as
    /// keepalived reads it; a file that is missing or unreadable reads 0.
    fn file_value(&mut self, _name: &str) -> i64 {
        0
    }
}

/// A FILE_CHECK's view of its track file: the checker's `weight` (else
/// the track file's) and `reverse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUse {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// [`of_config`] for every checker, as reload identity and share key
/// (good for tests: it ignores what a virtual server adds to a request,
/// such as its `virtualhost`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfigIdentity;

impl Identify for ConfigIdentity {
    fn identify(
        &mut self,
        _config: &Config,
        _vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Identified, String> {
        let identity = of_config(rs, checker);
        Ok(Identified {
            share: identity,
            identity,
        })
    }
}

/// One per checker, so kept small (tests/footprint.rs pins its size):
/// what is the same for many checkers is shared, what few have is boxed.
#[derive(Debug, Clone)]
pub struct CheckerEntry {
    pub identity: Identity,
    pub share: Identity,
    /// Shared by every checker of the book with the same context (all
    /// the TCP_CHECKs of a pool with the same `retry`, typically).
    pub log: Arc<LogContext>,
    pub machine: Machine,
    /// Its place in the real server's `checkers` of the configuration.
    pub config_index: u32,
    /// FILE_CHECK: the file it follows (it never runs a probe).
    pub file: Option<Box<FileUse>>,
}

/// A real server within its virtual server: its [`RealServerId`] less the
/// virtual server's id, which its [`VsEntry`] holds (a copy in every real
/// server's entry was 36 bytes more of each, issue 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RsKey {
    pub addr: std::net::IpAddr,
    pub port: u16,
}

#[derive(Debug, Clone)]
pub struct RsEntry {
    pub key: RsKey,
    /// keepalived's name for it, written out when logged.
    pub name: ServerName,
    pub alive: bool,
    pub base_weight: u32,
    pub inhibit: bool,
    /// Boxed: most real servers have neither, and two inline commands
    /// were 144 bytes of every real server's entry.
    pub notify_up: Option<Box<Command>>,
    pub notify_down: Option<Box<Command>>,
    pub checkers: Vec<CheckerEntry>,
}

impl CheckerEntry {
    /// When this checker last took a result (a shared one included): its
    /// machine's last run, kept there rather than a second time here.
    pub fn last_seen(&self) -> Option<Instant> {
        self.machine.last_finished()
    }
}

impl RsEntry {
    /// Configured weight plus every checker's dynamic part (keepalived's
    /// `effective_weight`, unclamped).
    pub fn effective_weight(&self) -> i64 {
        i64::from(self.base_weight)
            + self
                .checkers
                .iter()
                .map(|c| c.machine.cur_weight())
                .sum::<i64>()
    }

    pub fn failed_checkers(&self) -> usize {
        self.checkers.iter().filter(|c| !c.machine.is_up()).count()
    }
}

#[derive(Debug, Clone)]
pub struct VsEntry {
    pub id: VirtualServerId,
    pub name: String,
    pub quorum: u32,
    pub hysteresis: u32,
    pub omega: bool,
    pub quorum_up: Option<Command>,
    pub quorum_down: Option<Command>,
    /// The sorry server's name, when one is configured.
    pub sorry: Option<String>,
    pub sorry_inhibit: bool,
    pub rss: Vec<RsEntry>,
}

/// Where a checker sits in the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CheckerRef {
    pub vs: u32,
    pub rs: u32,
    pub ck: u32,
}

/// Every virtual server of one configuration with its health.
#[derive(Debug, Clone, Default)]
pub struct Book {
    pub vss: Vec<VsEntry>,
    /// Where each real server sits: (digest of its id, virtual server,
    /// real server), sorted. 16 bytes a real server where a map keyed by
    /// the id itself held about 85 (a copy of the 56-byte id in a table
    /// kept under seven-eighths full; 100 000 of them in a big pool).
    index: Vec<(u64, u32, u32)>,
}

/// How a book is built: at start-up every checker is cold; on reload the
/// caller migrates the machines afterwards.
pub struct Build<'a> {
    pub now: Instant,
    pub start: Start,
    pub jitter: &'a mut dyn FnMut(Duration) -> Duration,
    pub identify: &'a mut dyn Identify,
    /// global `checker_log_all_failures`.
    pub log_all_failures: bool,
    /// Lines about checkers that cannot run (left out of the book).
    pub refused: Vec<String>,
    /// The log contexts given out so far, each shared by the checkers
    /// that have it.
    logs: HashMap<Arc<LogContext>, ()>,
}

impl<'a> Build<'a> {
    pub fn new(
        config: &Config,
        start: Start,
        now: Instant,
        jitter: &'a mut dyn FnMut(Duration) -> Duration,
        identify: &'a mut dyn Identify,
    ) -> Self {
        Self {
            now,
            start,
            jitter,
            identify,
            log_all_failures: config.global_defs.checker_log_all_failures,
            refused: Vec::new(),
            logs: HashMap::new(),
        }
    }

    /// `ctx`, shared with the checkers that already have an equal one.
    fn shared_log(&mut self, ctx: LogContext) -> Arc<LogContext> {
        if let Some((have, ())) = self.logs.get_key_value(&ctx) {
            return Arc::clone(have);
        }
        let ctx = Arc::new(ctx);
        self.logs.insert(Arc::clone(&ctx), ());
        ctx
    }
}

impl Book {
    pub fn build(config: &Config, b: &mut Build<'_>) -> Book {
        let ids = VirtualServerId::all(config);
        let mut vss = Vec::with_capacity(ids.len());
        for (vs, id) in config.virtual_servers.iter().zip(ids) {
            let name = id.to_string();
            let rss = vs
                .real_servers
                .iter()
                .map(|rs| rs_entry(config, vs, &id, rs, b))
                .collect();
            let sorry = vs.sorry_server.as_ref().and_then(|s| {
                let ip = s.ip?;
                let method = s.lvs_method.unwrap_or_else(|| vs.effective_lvs_method());
                Some(server_name(vs, ip, expand::sorry_port(s), method.method))
            });
            vss.push(VsEntry {
                id,
                name,
                quorum: vs.quorum,
                hysteresis: vs.hysteresis,
                omega: vs.omega,
                quorum_up: vs.quorum_up.clone(),
                quorum_down: vs.quorum_down.clone(),
                sorry_inhibit: vs.sorry_server.as_ref().is_some_and(|s| s.inhibit),
                sorry,
                rss,
            });
        }
        let mut book = Book {
            vss,
            index: Vec::new(),
        };
        book.reindex();
        book
    }

    pub(crate) fn reindex(&mut self) {
        let at = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let count = self.vss.iter().map(|vs| vs.rss.len()).sum();
        let mut index = Vec::with_capacity(count);
        for (v, vs) in self.vss.iter().enumerate() {
            for (r, rs) in vs.rss.iter().enumerate() {
                index.push((digest(&vs.id, rs.key), at(v), at(r)));
            }
        }
        // Equal digests stay in book order, so the first real server with
        // an id is the one found, as before.
        index.sort_unstable();
        self.index = index;
    }

    pub fn rs(&self, id: &RealServerId) -> Option<&RsEntry> {
        let key = RsKey {
            addr: id.addr,
            port: id.port,
        };
        let d = digest(&id.vs, key);
        let from = self.index.partition_point(|e| e.0 < d);
        self.index[from..]
            .iter()
            .take_while(|e| e.0 == d)
            .find_map(|&(_, v, r)| {
                let vs = self.vss.get(v as usize)?;
                let rs = vs.rss.get(r as usize)?;
                (vs.id == id.vs && rs.key == key).then_some(rs)
            })
    }

    pub fn checker(&self, at: CheckerRef) -> Option<&CheckerEntry> {
        self.vss
            .get(at.vs as usize)?
            .rss
            .get(at.rs as usize)?
            .checkers
            .get(at.ck as usize)
    }

    pub fn checker_mut(&mut self, at: CheckerRef) -> Option<&mut CheckerEntry> {
        self.vss
            .get_mut(at.vs as usize)?
            .rss
            .get_mut(at.rs as usize)?
            .checkers
            .get_mut(at.ck as usize)
    }

    /// Every checker with where it sits.
    pub fn checkers(&self) -> impl Iterator<Item = (CheckerRef, &CheckerEntry)> {
        self.vss.iter().enumerate().flat_map(|(v, vs)| {
            vs.rss.iter().enumerate().flat_map(move |(r, rs)| {
                rs.checkers.iter().enumerate().map(move |(c, ck)| {
                    let at = CheckerRef {
                        vs: v as u32,
                        rs: r as u32,
                        ck: c as u32,
                    };
                    (at, ck)
                })
            })
        })
    }
}

/// The index's key for `id`: a digest, since the index need not keep the
/// id (the entry it points at has it, and is compared).
fn digest(vs: &VirtualServerId, rs: RsKey) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    vs.hash(&mut h);
    rs.hash(&mut h);
    h.finish()
}

fn rs_entry(
    config: &Config,
    vs: &VirtualServer,
    vs_id: &VirtualServerId,
    rs: &RealServer,
    b: &mut Build<'_>,
) -> RsEntry {
    let name = rs_name_of(vs, rs);
    // Sized up front: a Vec grown from empty by one push holds room for
    // four entries, and with one checker per real server (the usual case)
    // three empty ones of several hundred bytes each stayed behind for
    // every real server (1.4 kB per checker at 100 000).
    let mut checkers = Vec::with_capacity(rs.checkers.len());
    for (i, c) in rs.checkers.iter().enumerate() {
        let all = match b.identify.identify_all(config, vs, rs, c) {
            Ok(all) => all,
            Err(why) => {
                b.refused.push(format!(
                    "{} of service {name} of VS {vs_id} cannot run and is left out: {why}",
                    c.kind()
                ));
                continue;
            }
        };
        let eff = c.effective(rs, vs);
        let timing = Timing {
            delay_loop: eff.delay_loop.as_duration(),
            retry: eff.retry,
            delay_before_retry: eff.delay_before_retry.as_duration(),
            warmup: eff.warmup.as_duration(),
            alpha: eff.alpha,
        };
        let file = file_use(config, c).map(Box::new);
        let log = b.shared_log(log_context(c, b.log_all_failures, eff.retry));
        let config_index = u32::try_from(i).unwrap_or(u32::MAX);
        for Identified { identity, share } in all {
            let jitter = (b.jitter)(timing.warmup);
            let mut machine = Machine::new(
                timing,
                schedule_of(c),
                rs.effective_weight(vs),
                b.start,
                b.now,
                jitter,
            );
            if let Some(f) = &file {
                // keepalived reads every track file before the first
                // table is programmed (check_daemon.c `start_check`).
                let value = b.identify.file_value(&f.name);
                machine.set_file_status(file_status(value, f.weight, f.reverse));
            }
            checkers.push(CheckerEntry {
                identity,
                share,
                log: Arc::clone(&log),
                machine,
                config_index,
                file: file.clone(),
            });
        }
    }
    // SMTP host blocks add entries, refused checkers leave some out.
    checkers.shrink_to_fit();
    let alive = checkers.iter().all(|c| c.machine.is_up());
    RsEntry {
        key: RsKey {
            addr: rs.ip,
            port: expand::rs_port(rs),
        },
        name,
        alive,
        base_weight: rs.effective_weight(vs),
        inhibit: rs.effective_inhibit_on_failure(vs),
        notify_up: rs.notify_up.clone(),
        notify_down: rs.notify_down.clone(),
        checkers,
    }
}

pub fn schedule_of(c: &Checker) -> Schedule {
    match c {
        Checker::HttpGet(h) | Checker::SslGet(h) => Schedule::Http {
            urls: u32::try_from(h.url.len()).unwrap_or(u32::MAX),
        },
        Checker::MiscCheck(_) => Schedule::Misc,
        Checker::DnsCheck(_) => Schedule::Dns,
        Checker::SmtpCheck(_) => Schedule::Smtp,
        Checker::FileCheck(_) => Schedule::Passive,
        _ => Schedule::Plain,
    }
}

/// FILE_CHECK's track file, with the checker's weight or else the track
/// file's (check_file.c `file_end_handler`: a FILE_CHECK without its own
/// `weight` takes the track file's weight and `reverse`).
fn file_use(config: &Config, c: &Checker) -> Option<FileUse> {
    let Checker::FileCheck(f) = c else {
        return None;
    };
    let tf = config.track_files.iter().find(|t| t.name == f.track_file);
    let (weight, reverse) = match (f.weight, tf) {
        (Some(w), _) => (w, f.reverse),
        (None, Some(t)) => (t.weight, t.weight_reverse),
        (None, None) => (0, false),
    };
    Some(FileUse {
        name: f.track_file.clone(),
        weight,
        reverse,
    })
}

fn log_context(c: &Checker, global_all: bool, retry: u32) -> LogContext {
    let kind = match c {
        Checker::TcpCheck(_) => Kind::TcpCheck,
        Checker::HttpGet(_) => Kind::HttpGet,
        Checker::SslGet(_) => Kind::SslGet,
        Checker::MiscCheck(_) => Kind::MiscCheck,
        Checker::SmtpCheck(_) => Kind::SmtpCheck,
        Checker::DnsCheck(_) => Kind::DnsCheck,
        Checker::UdpCheck(_) => Kind::UdpCheck,
        Checker::PingCheck(_) => Kind::PingCheck,
        Checker::FileCheck(_) => Kind::FileCheck,
        Checker::BfdCheck(_) => Kind::BfdCheck,
    };
    let (urls, url_success) = match c {
        Checker::HttpGet(h) | Checker::SslGet(h) => (
            h.url.iter().map(|u| u.path.clone()).collect(),
            h.url
                .iter()
                .map(|u| {
                    if u.digest.is_some() {
                        "MD5 digest"
                    } else if u.regex.is_some() {
                        "Regex match"
                    } else {
                        "HTTP status code"
                    }
                    .to_string()
                })
                .collect(),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let script = match c {
        Checker::MiscCheck(m) => m
            .misc_path
            .as_ref()
            .and_then(|p| p.argv.first().cloned())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let own_all = c.common().and_then(|x| x.log_all_failures).unwrap_or(false);
    LogContext {
        kind,
        urls,
        url_success,
        script,
        log_all_failures: global_all || own_all,
        retry,
    }
}

impl HealthView for Book {
    fn alive(&self, rs: &RealServerId) -> Option<bool> {
        self.rs(rs).map(|r| r.alive)
    }

    fn weight(&self, rs: &RealServerId) -> Option<i64> {
        self.rs(rs).map(RsEntry::effective_weight)
    }
}

// ===== status =====

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerState {
    pub kind: Kind,
    pub identity: Identity,
    /// Checkers with equal share keys share their runs.
    pub share: Identity,
    #[serde(flatten)]
    pub state: CheckerStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerState {
    pub name: String,
    pub alive: bool,
    pub weight: u32,
    pub effective_weight: i64,
    pub inhibit_on_failure: bool,
    pub checkers: Vec<CheckerState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerState {
    pub name: String,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: bool,
    pub sorry_server: Option<String>,
    pub sorry_active: bool,
    pub real_servers: Vec<RealServerState>,
}
