// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The lookups of real servers named by DNS (keepalived-rs extension):
//! one task per lookup drives its `NameState` (schedule, holds, bounds:
//! `keepalived_check::resolve`) and does the network side through
//! `keepalived_probe::resolve::net`. After every finished lookup the task
//! sends the name's status to the actor, which writes the current
//! addresses into the configuration and reconciles. Nothing here depends
//! on health checks. An SRV lookup also asks, within the same lookup,
//! for the targets the answer gives no address for (`srv_outcome`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use keepalived_check::resolve::{
    Action, Change, Followed, Lookup, LookupKey, LookupKind, NameState, NameStatus, Outcome,
    Settings, SrvTargets, Target, to_follow,
};
use keepalived_check::time::Instant as CheckInstant;
use keepalived_config::model::resolvers::InitAddr;
use keepalived_probe::resolve::net::{self, Question};
use keepalived_probe::resolve::wire::{self, Answer, Ask, Reading};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::resolver_state;

/// A lookup finished (or its state changed).
#[derive(Debug)]
pub struct Update {
    pub key: LookupKey,
    pub status: NameStatus,
}

/// The running lookups of one configuration.
pub struct Resolver {
    tasks: JoinSet<()>,
    lookups: Vec<Lookup>,
    /// The nameservers read from /etc/resolv.conf for them.
    resolv_conf: Vec<SocketAddr>,
}

/// The nameservers of /etc/resolv.conf, read (at start and at each
/// reload) only when a `resolvers` block says `parse-resolv-conf`.
pub fn resolv_conf_for(lookups: &[Lookup]) -> Vec<SocketAddr> {
    if !lookups.iter().any(|l| l.resolvers.parse_resolv_conf) {
        return Vec::new();
    }
    match std::fs::read_to_string("/etc/resolv.conf") {
        Ok(text) => net::resolv_conf_nameservers(&text),
        Err(e) => {
            tracing::warn!("resolvers: cannot read /etc/resolv.conf: {e}");
            Vec::new()
        }
    }
}

impl Resolver {
    /// Starts a task per lookup; `epoch` is the actor's clock.
    /// `resolv_conf`: [`resolv_conf_for`] these lookups.
    /// `kept`: the addresses of names already resolved (a reload), which
    /// the new tasks start from.
    pub fn start(
        lookups: Vec<Lookup>,
        resolv_conf: Vec<SocketAddr>,
        kept: &BTreeMap<LookupKey, Vec<Target>>,
        epoch: tokio::time::Instant,
        tx: &mpsc::UnboundedSender<Update>,
    ) -> Self {
        let mut tasks = JoinSet::new();
        // Each state file read once, only when a name may start from it.
        let mut states: BTreeMap<String, BTreeMap<LookupKey, Vec<Target>>> = BTreeMap::new();
        for l in &lookups {
            let mut servers: Vec<SocketAddr> =
                l.resolvers.nameservers.iter().map(|n| n.addr).collect();
            if l.resolvers.parse_resolv_conf {
                servers.extend_from_slice(&resolv_conf);
            }
            if servers.is_empty() {
                tracing::error!(
                    "resolvers {}: no nameserver to ask for {}; it stays unresolved",
                    l.resolvers.name,
                    l.key.host
                );
                continue;
            }
            let ask = match l.key.kind {
                LookupKind::A => Ask::A,
                LookupKind::Aaaa => Ask::Aaaa,
                LookupKind::SrvV4 => Ask::Srv { v6: false },
                LookupKind::SrvV6 => Ask::Srv { v6: true },
            };
            let name = match wire::question_name(&l.key.host) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!("real_server_name {e}");
                    continue;
                }
            };
            let question = Question {
                name,
                ask,
                payload: l.resolvers.accepted_payload_size,
                max: usize::try_from(l.max_addresses).unwrap_or(usize::MAX),
            };
            let settings = Settings::new(&l.resolvers, l.max_addresses);
            let key = l.key.clone();
            let tx = tx.clone();
            let seed = match kept.get(&key) {
                Some(k) => Start::Kept(k.clone()),
                None => {
                    let last = if l.init_addr.contains(&InitAddr::Last) {
                        states
                            .entry(l.resolvers.name.clone())
                            .or_insert_with(|| {
                                resolver_state::read(&l.resolvers, settings.max_addresses)
                            })
                            .get(&key)
                            .cloned()
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    Start::Init {
                        methods: l.init_addr.clone(),
                        last,
                    }
                }
            };
            tasks.spawn(run(key, settings, seed, servers, question, epoch, tx));
        }
        Resolver {
            tasks,
            lookups,
            resolv_conf,
        }
    }

    /// Whether these tasks already run `lookups` with these resolv.conf
    /// nameservers (a reload that changes neither keeps them running).
    pub fn runs(&self, lookups: &[Lookup], resolv_conf: &[SocketAddr]) -> bool {
        self.lookups == lookups && self.resolv_conf == resolv_conf
    }

    pub fn stop(&mut self) {
        self.tasks.abort_all();
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// Where a lookup task's addresses come from before its first answer.
enum Start {
    /// A name kept across a reload: the addresses it had.
    Kept(Vec<Target>),
    /// A new name: its `init_addr` methods, in order, and what the state
    /// file kept for it (`last`).
    Init {
        methods: Vec<InitAddr>,
        last: Vec<Target>,
    },
}

/// HAProxy's `init-addr`: the first method that gives an address wins;
/// `none` (or the end of the list) gives none.
async fn initial(
    key: &LookupKey,
    methods: &[InitAddr],
    last: Vec<Target>,
    settings: &Settings,
) -> Vec<Target> {
    let v6 = key.kind.is_v6();
    for m in methods {
        let found = match m {
            InitAddr::None => return Vec::new(),
            InitAddr::Last => last.clone(),
            InitAddr::Addr(a) if a.is_ipv6() == v6 => vec![Target {
                addr: *a,
                port: 0,
                weight: None,
            }],
            InitAddr::Addr(_) => Vec::new(),
            InitAddr::Libc => libc(&key.host, v6, settings).await,
        };
        if !found.is_empty() {
            tracing::info!(
                "real_server_name {}: starting from init_addr {} ({} address(es))",
                key.host,
                method_name(m),
                found.len()
            );
            return found;
        }
    }
    Vec::new()
}

fn method_name(m: &InitAddr) -> String {
    match m {
        InitAddr::Last => "last".into(),
        InitAddr::Libc => "libc".into(),
        InitAddr::None => "none".into(),
        InitAddr::Addr(a) => a.to_string(),
    }
}

/// The system resolver (getaddrinfo, on a blocking thread), bounded by
/// the name's own lookup budget so that a slow resolv.conf cannot hold
/// back its first DNS query for long.
async fn libc(host: &str, v6: bool, settings: &Settings) -> Vec<Target> {
    let budget = settings.timeout_retry * settings.resolve_retries.max(1);
    let found = tokio::time::timeout(budget, tokio::net::lookup_host((host, 0))).await;
    let addrs: Vec<Target> = match found {
        Ok(Ok(it)) => it
            .map(|sa| sa.ip())
            .filter(|ip| ip.is_ipv6() == v6)
            .map(|addr| Target {
                addr,
                port: 0,
                weight: None,
            })
            .take(settings.max_addresses)
            .collect(),
        Ok(Err(e)) => {
            tracing::info!("real_server_name {host}: init_addr libc: {e}");
            Vec::new()
        }
        Err(_) => {
            tracing::info!("real_server_name {host}: init_addr libc gave no answer in time");
            Vec::new()
        }
    };
    let mut uniq = Vec::new();
    for t in addrs {
        if !uniq.contains(&t) {
            uniq.push(t);
        }
    }
    uniq
}

fn now(epoch: tokio::time::Instant) -> CheckInstant {
    CheckInstant::from_micros(u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
}

fn outcome(r: Reading) -> Option<Outcome> {
    Some(match r {
        Reading::Valid(a) => Outcome::Valid {
            targets: a
                .found
                .into_iter()
                .map(|f| Target {
                    addr: f.addr,
                    port: f.port,
                    weight: f.weight,
                })
                .collect(),
            ttl: a.ttl,
        },
        Reading::NxDomain => Outcome::NxDomain,
        Reading::Refused => Outcome::Refused,
        Reading::Other(why) => {
            tracing::debug!("resolver: {why}");
            Outcome::Other
        }
        Reading::Truncated | Reading::Dropped(_) => return None,
    })
}

async fn run(
    key: LookupKey,
    settings: Settings,
    start: Start,
    servers: Vec<SocketAddr>,
    q: Question,
    epoch: tokio::time::Instant,
    tx: mpsc::UnboundedSender<Update>,
) {
    let mut state = NameState::new(key.host.clone(), settings, now(epoch));
    let seed = match start {
        Start::Kept(t) => t,
        Start::Init { methods, last } => initial(&key, &methods, last, &settings).await,
    };
    state.seed(&seed, now(epoch));
    // Addresses from init_addr go into the table before DNS answers.
    if !seed.is_empty() && !send(&tx, &key, &state, epoch) {
        return;
    }
    let mut srv = SrvTargets::default();
    let mut warned_drop = false;
    loop {
        let ended_before = state.lookups_ended();
        let (action, changes) = state.poll(now(epoch));
        log_changes(&key, &changes);
        // A retry deadline that ended the lookup as a timeout: report it.
        if state.lookups_ended() != ended_before && !send(&tx, &key, &state, epoch) {
            return;
        }
        let Some(Action::Query { .. }) = action else {
            let wake = epoch + std::time::Duration::from_micros(state.next_deadline().as_micros());
            tokio::time::sleep_until(wake).await;
            continue;
        };
        let deadline = epoch + std::time::Duration::from_micros(state.next_deadline().as_micros());
        let got = net::attempt(&servers, &q, deadline).await;
        for why in &got.dropped {
            state.count_dropped_answer();
            if warned_drop {
                tracing::debug!("real_server_name {}: dropped {why}", key.host);
            } else {
                tracing::warn!(
                    "real_server_name {}: dropped {why} (further drops are counted in the status)",
                    key.host
                );
                warned_drop = true;
            }
        }
        let reading = match got.reading {
            Some(Reading::Valid(a)) if matches!(q.ask, Ask::Srv { .. }) => {
                Some(srv_outcome(a, &mut srv, &servers, &q, &settings).await)
            }
            r => r.and_then(outcome),
        };
        if let Some(o) = reading {
            let changes = state.answer(o, now(epoch));
            log_changes(&key, &changes);
            if !send(&tx, &key, &state, epoch) {
                return;
            }
        }
        // No answer: the next poll (at the retry deadline) retries or
        // ends the lookup as a timeout.
    }
}

/// An SRV answer's real servers: the targets it gives no address for are
/// asked on their own first (64 at a time, each with the name's retries
/// and retry timeout), then `SrvTargets` picks the priority in use.
async fn srv_outcome(
    a: Answer,
    known: &mut SrvTargets,
    servers: &[SocketAddr],
    q: &Question,
    settings: &Settings,
) -> Outcome {
    let records = a.srv;
    let ask = match q.ask {
        Ask::Srv { v6: true } => Ask::Aaaa,
        _ => Ask::A,
    };
    let mut followed = BTreeMap::new();
    let wanted = to_follow(&records);
    // A few sockets at a time: an answer naming thousands of targets
    // must not take thousands of descriptors at once.
    for batch in wanted.chunks(FOLLOW_AT_ONCE) {
        follow_batch(batch, servers, q, ask, settings, &mut followed).await;
    }
    Outcome::Valid {
        targets: known.targets(&records, &followed),
        ttl: a.ttl,
    }
}

/// Follow-up queries in flight at once, at most.
const FOLLOW_AT_ONCE: usize = 64;

async fn follow_batch(
    batch: &[String],
    servers: &[SocketAddr],
    q: &Question,
    ask: Ask,
    settings: &Settings,
    followed: &mut BTreeMap<String, Followed>,
) {
    let mut asking = JoinSet::new();
    for target in batch.iter().cloned() {
        let name = match wire::question_name(&target) {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!("SRV target {e}");
                followed.insert(target, Followed::Gone);
                continue;
            }
        };
        let fq = Question {
            name,
            ask,
            payload: q.payload,
            max: q.max,
        };
        let servers = servers.to_vec();
        let (tries, wait) = (settings.resolve_retries, settings.timeout_retry);
        asking.spawn(async move { (target, follow(&servers, &fq, tries, wait).await) });
    }
    while let Some(done) = asking.join_next().await {
        if let Ok((target, f)) = done {
            followed.insert(target, f);
        }
    }
}

/// One SRV target's own query: asked again after `wait` without answer,
/// `tries` times in all.
async fn follow(
    servers: &[SocketAddr],
    q: &Question,
    tries: u32,
    wait: std::time::Duration,
) -> Followed {
    for _ in 0..tries.max(1) {
        let deadline = tokio::time::Instant::now() + wait;
        match net::attempt(servers, q, deadline).await.reading {
            Some(Reading::Valid(a)) => {
                return Followed::Found(a.found.into_iter().map(|f| f.addr).collect());
            }
            Some(Reading::NxDomain) => return Followed::Gone,
            Some(Reading::Refused | Reading::Other(_)) => return Followed::Failed,
            Some(Reading::Truncated | Reading::Dropped(_)) | None => {}
        }
    }
    Followed::Failed
}

fn send(
    tx: &mpsc::UnboundedSender<Update>,
    key: &LookupKey,
    state: &NameState,
    epoch: tokio::time::Instant,
) -> bool {
    tx.send(Update {
        key: key.clone(),
        status: state.status(now(epoch)),
    })
    .is_ok()
}

fn log_changes(key: &LookupKey, changes: &[Change]) {
    for c in changes {
        match c {
            Change::Added(t) => tracing::info!("real_server_name {}: {} added", key.host, show(t)),
            Change::Removed(t) => {
                tracing::info!("real_server_name {}: {} removed", key.host, show(t))
            }
            Change::Reweighted(t) => {
                tracing::info!("real_server_name {}: {} reweighted", key.host, show(t))
            }
        }
    }
}

fn show(t: &Target) -> String {
    let mut s = SocketAddr::new(t.addr, t.port).to_string();
    if t.port == 0 {
        s = t.addr.to_string();
    }
    if let Some(w) = t.weight {
        s.push_str(&format!(" weight {w}"));
    }
    s
}
