// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The supervisor (keepalived's parent process).
//!
//! # Process model
//! The supervisor runs plain std + nix, single-threaded, with no async
//! runtime: it detaches (`daemon(3)`: fork + setsid) unless `-n`, writes
//! its pid file, loads and validates the configuration, then starts each
//! child by re-executing `/proc/self/exe` with a hidden first argument
//! (`--child=vrrp` / `--child=checker`) followed by the original command
//! line, so `/proc/PID/cmdline` reads e.g. `keepalived-rs --child=vrrp -n
//! -f /etc/keepalived/keepalived.conf`. A child sets its comm name
//! (`kalrs_vrrp`, `kalrs_check`) and `PR_SET_PDEATHSIG` itself, right
//! after exec; if the parent died before that, the end of stream on its
//! channel stops it. The supervisor writes the children's pid files (it
//! knows their pids first) and removes each when that child is reaped.
//!
//! # Snapshot passing and reload
//! Each child's stdin is one end of a unix stream socketpair (the
//! channel); frames are a 4-byte big-endian length and JSON
//! ([`crate::proto`]). The supervisor serialises the validated
//! [`Config`] once per generation (the VRRP child's copy without the
//! virtual servers) and keeps only those frames, not the model: the
//! first frame a child reads is its initial snapshot, later ones are
//! reloads. A child answers each snapshot with `Applied {
//! generation, summary }` once its diff is applied. SIGHUP: the
//! supervisor re-reads and validates; if the configuration cannot run it
//! logs every diagnostic and keeps the running generation (nothing is
//! sent, nothing restarts). Otherwise generation N+1 goes to every running
//! child and the reload lasts until all have answered (or 10 s); a HUP in
//! the meantime is queued and starts the next reload when this one ends.
//! A respawned child receives the current generation.
//!
//! # Signals
//! All signals reach the supervisor through a signalfd polled with the
//! channels. USR1, USR2, STATS_CLEAR and JSON become `Dump` requests to the
//! children (which write their own files); USR1 also writes the parent's
//! data file. TERM/INT stop: TERM to each child, SIGKILL after
//! `child_wait_time`.
//!
//! # Exit codes (inventory §B.3)
//! A child exiting 1 (fatal), 2 (config) or 4 (permission) is not
//! restarted; the other children go on (keepalived stops everything: a
//! checker finding no IPVS would take VRRP down). When no child is left,
//! the supervisor exits with the first such code. Any other death is
//! respawned with back-off (immediately, then 100 ms doubling to 30 s
//! while it keeps dying within a minute of its start); with `-R` the
//! supervisor stops instead, as keepalived does by raising SIGTERM, and
//! exits 0.

use std::borrow::Cow;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use keepalived_config::Config;
use keepalived_config::model::announce::Announce;

use crate::kept_frame::KeptFrame;
use crate::stall::{self, SchedTimes};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::child::Kind;
use crate::cli::Cli;
use crate::control::server::Pending;
use crate::control::wire::{Answer, Command as ControlCommand};
use crate::control::{self};
use crate::logging::Role;
use crate::proto::{self, DumpKind, Framer, FromChild, ToChild};
use crate::sigs::{self, Signals};
use crate::{dump, exit, notify, pidfile};

const RELOAD_TIMEOUT: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const STABLE: Duration = Duration::from_secs(60);

struct Running {
    child: Child,
    chan: UnixStream,
    framer: Framer,
    acked: u64,
    /// The last heartbeat (or the first answer); None before the first
    /// answer (a child decoding a big first snapshot is not watched yet)
    /// and after a stall was acted on.
    last_beat: Option<Instant>,
    /// The child's scheduler account at `last_beat` (see stall.rs).
    beat_sched: Option<SchedTimes>,
    /// A starvation past the bound was logged for this silence.
    starved_noted: bool,
}

impl Running {
    fn beat(&mut self) {
        self.last_beat = Some(Instant::now());
        self.starved_noted = false;
        self.beat_sched = SchedTimes::of(self.child.id());
    }
}

struct Slot {
    kind: Kind,
    pidfile: PathBuf,
    running: Option<Running>,
    /// The running child's pid file, when it could not be written.
    pid_owed: Option<pidfile::Owed>,
    respawn_at: Option<Instant>,
    started: Instant,
    quick_deaths: u32,
    /// How many times it was started (restarts = one less).
    spawns: u32,
}

/// The outcome of loading the configuration.
pub enum LoadError {
    /// The file is missing or unreadable (keepalived's "no config").
    NoConfig,
    /// The configuration cannot run (or, on reload, may not replace the
    /// running one); its diagnostics, as logged.
    Invalid(Vec<String>),
}

/// Loads and validates; logs every diagnostic. A reload uses the stricter
/// rule of [`keepalived_config::diag::Diagnostics::can_replace_running`].
pub fn load_config(cli: &Cli, reload: bool) -> Result<Config, LoadError> {
    let loaded = crate::config_test::load(cli);
    if loaded.main_missing {
        // Why it cannot be read (missing, a directory, EMFILE...) is in the
        // diagnostics; without them the refusal did not say.
        for d in loaded.diagnostics.iter() {
            tracing::error!("{d}");
        }
        tracing::error!(
            "Configuration file '{}' cannot be read",
            cli.config_file().display()
        );
        return Err(LoadError::NoConfig);
    }
    for d in loaded.diagnostics.iter() {
        if d.category.is_fatal() {
            tracing::error!("{d}");
        } else {
            tracing::warn!("{d}");
        }
    }
    let acceptable = if reload {
        loaded.diagnostics.can_replace_running()
    } else {
        loaded.diagnostics.can_start()
    };
    if !acceptable {
        return Err(LoadError::Invalid(
            loaded.diagnostics.iter().map(ToString::to_string).collect(),
        ));
    }
    let kinds = wanted(cli, &loaded.config);
    crate::unsupported::log(&crate::unsupported::for_children(
        &loaded.config,
        kinds.contains(&Kind::Vrrp),
        kinds.contains(&Kind::Checker),
    ));
    // -d: what was understood, at every load (start and reload), as
    // keepalived dumps its configuration data each time it reads it.
    if cli.dump_conf {
        if cli.dont_fork {
            crate::config_test::print_json(&loaded);
        } else {
            // Detached, stdout is /dev/null: the dump goes to the log, as
            // keepalived's does.
            match serde_json::to_string(&loaded.config) {
                Ok(s) => tracing::info!("Configuration: {s}"),
                Err(e) => tracing::error!("Cannot serialize the configuration: {e}"),
            }
        }
    }
    Ok(loaded.config)
}

/// Which children this command line and configuration call for.
pub fn wanted(cli: &Cli, config: &Config) -> Vec<Kind> {
    let only = cli.vrrp || cli.check;
    let mut out = Vec::new();
    if (!only || cli.vrrp) && (cli.all || config.has_vrrp()) {
        out.push(Kind::Vrrp);
    }
    if (!only || cli.check) && (cli.all || config.has_checker()) {
        out.push(Kind::Checker);
    }
    out
}

/// -u, -m, -M, -s: process settings applied before anything starts.
fn apply_process_options(cli: &Cli) -> Result<(), u8> {
    if let Some(mask) = &cli.umask {
        let parsed = u32::from_str_radix(mask.trim_start_matches("0o"), 8)
            .ok()
            .filter(|m| *m <= 0o777);
        match parsed {
            Some(m) => {
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(m));
            }
            None => {
                tracing::error!("Invalid umask {mask}");
                return Err(exit::FATAL);
            }
        }
    }
    if cli.core_dump || cli.core_dump_pattern.is_some() {
        use nix::sys::resource::{RLIM_INFINITY, Resource, setrlimit};
        if let Err(e) = setrlimit(Resource::RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY) {
            tracing::warn!("Cannot raise the core dump limit: {e}");
        }
        let _ = nix::sys::prctl::set_dumpable(true);
    }
    if let Some(pat) = &cli.core_dump_pattern
        && let Err(e) = std::fs::write("/proc/sys/kernel/core_pattern", pat)
    {
        tracing::warn!("Cannot set core_pattern: {e}");
    }
    if let Some(ns) = &cli.namespace {
        let path = Path::new("/run/netns").join(ns);
        let res = std::fs::File::open(&path)
            .map_err(nix::errno::Errno::from_raw_os_error_io)
            .and_then(|f| nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET));
        if let Err(e) = res {
            tracing::error!(
                "Cannot enter network namespace {ns} ({}): {e}",
                path.display()
            );
            return Err(exit::FATAL);
        }
        tracing::info!("Running in network namespace {ns}");
    }
    Ok(())
}

/// keepalived's exit codes after which a child is not restarted, with
/// their names for the log.
fn permanent_exit(code: i32) -> Option<(u8, &'static str)> {
    let code = u8::try_from(code).ok()?;
    let name = match code {
        exit::FATAL => "FATAL",
        exit::CONFIG => "CONFIG",
        exit::MISSING_PERMISSION => "MISSING_PERMISSION",
        _ => return None,
    };
    Some((code, name))
}

trait ErrnoIo {
    fn from_raw_os_error_io(e: io::Error) -> nix::errno::Errno;
}

impl ErrnoIo for nix::errno::Errno {
    fn from_raw_os_error_io(e: io::Error) -> nix::errno::Errno {
        nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// Half of `WATCHDOG_USEC`, when systemd set it for this process.
fn systemd_watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        && pid != std::process::id()
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// The watchdog's bounds (VRRP child, checker child).
///
/// A stalled VRRP master keeps its VIPs while its peer, hearing nothing,
/// takes over after 3 x advert_int + skew: the stall must be noticed
/// (and the VIPs removed, as after a crash) within 3 x the smallest
/// advert_int, so that both never hold them for long. Floor: 1 s, below
/// which an ordinary scheduling hiccup on a loaded box would be taken
/// for a stall and a healthy master restarted (a VIP flap). Ceiling 10 s.
/// The checker has no peer to race: 10 s, and its big applies run on a
/// worker thread, so its loop (and heartbeat) keeps turning through them.
/// A child starved of CPU (runnable, waiting for one) is not stalled and
/// gets more, either kind (stall.rs).
/// `KEEPALIVED_RS_STALL_MS` overrides both (tests).
fn stall_bounds(config: &Config) -> (Duration, Duration) {
    if let Some(ms) = std::env::var("KEEPALIVED_RS_STALL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let d = Duration::from_millis(ms.max(100));
        return (d, d);
    }
    let ceiling = Duration::from_secs(10);
    let vrrp = config
        .vrrp_instances
        .iter()
        .map(|i| i.advert_int.as_duration() * 3)
        .min()
        .map_or(ceiling, |d| d.clamp(Duration::from_secs(1), ceiling));
    (vrrp, ceiling)
}

/// Four heartbeats per bound: one lost or late is not a stall.
fn heartbeat_ms(bound: Duration) -> u64 {
    (bound.as_millis() / 4).max(25) as u64
}

/// What the supervisor keeps of the running generation: its frames, not
/// the model (a 10 000-virtual-server model is tens of MB; keepalived's
/// parent does not hold the configuration either).
struct Generation {
    number: u64,
    /// The watchdog's bound per child: no heartbeat for this long means
    /// its loop has stalled.
    stall_vrrp: Duration,
    stall_checker: Duration,
    /// The snapshot frame for the checker child: the whole configuration,
    /// packed once the child has it (see [`KeptFrame`]).
    checker: KeptFrame,
    /// For the VRRP child: without the virtual servers, which it never
    /// reads and which are most of the bytes of a big configuration.
    vrrp: Vec<u8>,
    /// The virtual servers' `announce`s (a few, often none), kept apart
    /// so a dead checker child's routes are withdrawn without decoding
    /// its whole frame.
    checker_announces: Vec<Announce>,
    child_wait_time: u32,
}

impl Generation {
    fn encode(number: u64, mut config: Config) -> io::Result<Self> {
        let (stall_vrrp, stall_checker) = stall_bounds(&config);
        let checker = proto::encode_config(number, &config, heartbeat_ms(stall_checker))?;
        let checker_announces = config
            .virtual_servers
            .iter()
            .filter_map(|v| v.announce.clone())
            .collect();
        config.virtual_servers = Vec::new();
        config.virtual_server_groups = Vec::new();
        let vrrp = proto::encode_config(number, &config, heartbeat_ms(stall_vrrp))?;
        Ok(Self {
            number,
            stall_vrrp,
            stall_checker,
            checker: KeptFrame::Plain(checker),
            vrrp,
            checker_announces,
            child_wait_time: config.root.child_wait_time,
        })
    }

    fn stall_bound(&self, kind: Kind) -> Duration {
        match kind {
            Kind::Vrrp => self.stall_vrrp,
            Kind::Checker => self.stall_checker,
        }
    }

    fn frame(&self, kind: Kind) -> io::Result<Cow<'_, [u8]>> {
        match kind {
            Kind::Checker => self.checker.bytes(),
            Kind::Vrrp => Ok(Cow::Borrowed(&self.vrrp)),
        }
    }

    /// The configuration the VRRP child runs (rarely needed: decoded
    /// from its frame).
    fn vrrp_config(&self) -> Option<Config> {
        let mut f = Framer::default();
        f.push(&self.vrrp);
        match f.next::<ToChild>() {
            Some(Ok(ToChild::Config { config, .. })) => Some(*config),
            _ => None,
        }
    }
}

struct Supervisor {
    args: Vec<std::ffi::OsString>,
    cli: Cli,
    current: Generation,
    slots: Vec<Slot>,
    stopping: Option<Instant>,
    killed: bool,
    exit_code: u8,
    reloading: Option<(u64, Instant)>,
    reload_queued: bool,
    ready_sent: bool,
    /// The control socket (None when it could not be opened).
    control: Option<control::server::Server>,
    started_at: Instant,
    reloads_ok: u64,
    reloads_refused: u64,
    /// `metrics_listen` as read at start: the endpoint is bound once.
    metrics_listen: Option<std::net::SocketAddr>,
    /// `reload` requests from the control socket, answered when the
    /// reload under way (or queued) ends.
    reload_waiters: Vec<Sender<Answer>>,
    status_queries: Vec<StatusQuery>,
    next_query_id: u64,
    /// systemd's WatchdogSec, halved; None when not asked for.
    watchdog_every: Option<Duration>,
    watchdog_next: Option<Instant>,
}

/// A `status` request waiting for the children's answers.
struct StatusQuery {
    id: u64,
    view: proto::StatusView,
    reply: Sender<Answer>,
    /// Each running child's answer, once in, as the child wrote it.
    answers: Vec<(Kind, Option<Box<RawValue>>)>,
    deadline: Instant,
}

/// The `status` answer: the supervisor's own part, and each child's as
/// the child wrote it (`null` without one). The fields stand in the
/// order of their names, the order they had when the answer was built as
/// one `serde_json::Value` map (the children write theirs that way too),
/// so the answer's bytes did not change when the parts stopped being
/// parsed and written again.
#[derive(Serialize)]
struct StatusAnswer<'a> {
    checker: Option<&'a RawValue>,
    daemon: serde_json::Value,
    view: proto::StatusView,
    vrrp: Option<&'a RawValue>,
}

/// How long a `status` waits for a child (one busy applying a big
/// configuration answers after the apply).
const STATUS_DEADLINE: Duration = Duration::from_secs(2);

/// Runs the daemon. `args` is the command line as given (for the
/// children); returns the exit code.
pub fn run(cli: Cli, args: Vec<std::ffi::OsString>) -> u8 {
    crate::logging::init(&cli, Role::Parent);
    let parent_pid_file = pidfile::path(&cli, Role::Parent);
    if let Some(pid) = pidfile::read(&parent_pid_file) {
        if pidfile::is_live_keepalived(pid) {
            tracing::error!("daemon is already running (pid {pid})");
            eprintln!("keepalived-rs: daemon is already running (pid {pid})");
            // keepalived 2.2.7 exits 0 here (observed), which keeps a
            // repeated start idempotent for init scripts.
            return exit::OK;
        }
        tracing::info!(
            "Removing stale pid file {} (pid {pid})",
            parent_pid_file.display()
        );
    }
    if let Err(code) = apply_process_options(&cli) {
        return code;
    }
    crate::unsupported::log(&crate::unsupported::for_command_line(&cli));
    if !cli.dont_fork
        && let Err(e) = nix::unistd::daemon(true, cli.log_console)
    {
        tracing::error!("Cannot detach: {e}");
        return exit::FATAL;
    }
    let me = std::process::id();
    if let Err(e) = pidfile::write(&parent_pid_file, me) {
        tracing::error!("Cannot write pid file {}: {e}", parent_pid_file.display());
        return exit::FATAL;
    }
    tracing::info!(
        "Starting Keepalived-rs v{}, pid {me}",
        env!("CARGO_PKG_VERSION")
    );
    let code = match load_config(&cli, false) {
        Ok(config) => supervise(cli.clone(), args, config),
        Err(LoadError::NoConfig) => exit::NO_CONFIG,
        Err(LoadError::Invalid(_)) => exit::CONFIG,
    };
    pidfile::remove_if(&parent_pid_file, me);
    tracing::info!("Stopped Keepalived-rs (exit code {code})");
    code
}

/// The Prometheus endpoint, when asked for (`--metrics` wins over
/// `metrics_listen`); it asks through the control socket's queue, so
/// without that socket there is none.
fn start_metrics(
    cli: &Cli,
    from_config: Option<std::net::SocketAddr>,
    control: Option<&control::server::Server>,
) {
    let wanted = cli.metrics.or(from_config);
    let Some(addr) = wanted else {
        return;
    };
    let Some(server) = control else {
        tracing::error!("Metrics on {addr} not served: they need the control socket");
        return;
    };
    match crate::metrics::http::start(addr, server.asker()) {
        Ok(bound) => tracing::info!("Serving metrics on http://{bound}/metrics"),
        Err(e) => tracing::error!("Cannot serve metrics on {addr}: {e}"),
    }
}

fn supervise(cli: Cli, args: Vec<std::ffi::OsString>, config: Config) -> u8 {
    // The parent also reaps its children.
    let mut wanted_signals = sigs::handled().to_vec();
    wanted_signals.push(libc::SIGCHLD);
    let mut signals = match Signals::new(&wanted_signals) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("signalfd: {e}");
            return exit::FATAL;
        }
    };
    let kinds = wanted(&cli, &config);
    if kinds.is_empty() {
        tracing::warn!(
            "No child process to start: the configuration has neither VRRP nor virtual servers (use --all to start them anyway)"
        );
    }
    let now = Instant::now();
    let slots = kinds
        .into_iter()
        .map(|kind| Slot {
            kind,
            pidfile: pidfile::path(&cli, kind.role()),
            running: None,
            pid_owed: None,
            respawn_at: Some(now),
            started: now,
            quick_deaths: 0,
            spawns: 0,
        })
        .collect();
    let metrics_listen = config.global_defs.metrics_listen;
    let current = match Generation::encode(1, config) {
        Ok(g) => g,
        Err(e) => {
            tracing::error!("Cannot serialise the configuration: {e}");
            return exit::PROGRAM;
        }
    };
    keepalived_sys::mem::release_freed_memory();
    let kb = keepalived_sys::mem::release_startup_code();
    tracing::debug!("Supervisor's start-up code pages handed back: {kb} kB");
    let mut s = Supervisor {
        args,
        cli,
        current,
        slots,
        stopping: None,
        killed: false,
        exit_code: exit::OK,
        reloading: None,
        reload_queued: false,
        ready_sent: false,
        control: None,
        started_at: Instant::now(),
        reloads_ok: 0,
        reloads_refused: 0,
        reload_waiters: Vec::new(),
        status_queries: Vec::new(),
        next_query_id: 0,
        watchdog_every: systemd_watchdog_interval(),
        watchdog_next: None,
        metrics_listen,
    };
    let path = control::socket_path(&s.cli);
    match control::server::Server::start(&path) {
        Ok(server) => s.control = Some(server),
        // The daemon's job does not depend on it.
        Err(e) => tracing::warn!("Control socket {} not available: {e}", path.display()),
    }
    start_metrics(&s.cli, metrics_listen, s.control.as_ref());
    s.run_loop(&mut signals)
}

impl Supervisor {
    fn spawn(&mut self, i: usize) {
        let snapshot = self.current.frame(self.slots[i].kind);
        let slot = &mut self.slots[i];
        slot.respawn_at = None;
        let result = (|| -> io::Result<Running> {
            let snapshot = snapshot?;
            let (ours, theirs) = UnixStream::pair()?;
            let argv0 = self
                .args
                .first()
                .cloned()
                .unwrap_or_else(|| "keepalived-rs".into());
            let child = Command::new("/proc/self/exe")
                .arg0(argv0)
                .arg(slot.kind.arg())
                .args(self.args.iter().skip(1))
                .stdin(Stdio::from(OwnedFd::from(theirs)))
                .spawn()?;
            ours.set_write_timeout(Some(Duration::from_secs(5)))?;
            let mut r = Running {
                child,
                chan: ours,
                framer: Framer::default(),
                acked: 0,
                last_beat: None,
                beat_sched: None,
                starved_noted: false,
            };
            io::Write::write_all(&mut r.chan, &snapshot)?;
            Ok(r)
        })();
        match result {
            Ok(r) => {
                let pid = r.child.id();
                tracing::info!("Starting {} child process, pid={pid}", slot.kind.label());
                slot.pid_owed = match pidfile::Owed::write(&slot.pidfile, pid, Instant::now()) {
                    Ok(()) => None,
                    Err((e, owed)) => {
                        tracing::error!(
                            "Cannot write pid file {}: {e}; trying again every {} s",
                            slot.pidfile.display(),
                            pidfile::RETRY_EVERY.as_secs()
                        );
                        Some(owed)
                    }
                };
                slot.started = Instant::now();
                slot.spawns += 1;
                slot.running = Some(r);
            }
            Err(e) => {
                tracing::error!("Cannot start the {} child: {e}", slot.kind.label());
                slot.respawn_at = Some(Instant::now() + Duration::from_secs(1));
            }
        }
    }

    /// Sends the current generation to every running child.
    fn send_snapshots(&mut self) {
        for slot in &mut self.slots {
            if let Some(r) = &mut slot.running
                && let Err(e) = self
                    .current
                    .frame(slot.kind)
                    .and_then(|f| io::Write::write_all(&mut r.chan, &f))
            {
                tracing::warn!("Cannot reach the {} child: {e}", slot.kind.label());
            }
        }
    }

    fn send_all(&mut self, bytes: &[u8]) {
        for slot in &mut self.slots {
            if let Some(r) = &mut slot.running
                && let Err(e) = io::Write::write_all(&mut r.chan, bytes)
            {
                tracing::warn!("Cannot reach the {} child: {e}", slot.kind.label());
            }
        }
    }

    fn begin_stop(&mut self, code: u8) {
        if self.stopping.is_some() {
            return;
        }
        self.exit_code = code;
        notify::notify("STOPPING=1");
        let wait = Duration::from_secs(u64::from(self.current.child_wait_time));
        self.stopping = Some(Instant::now() + wait);
        for slot in &mut self.slots {
            slot.respawn_at = None;
            if let Some(r) = &slot.running {
                let _ = kill(Pid::from_raw(r.child.id() as i32), Signal::SIGTERM);
            }
        }
    }

    fn reload(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        if self.reloading.is_some() {
            tracing::info!("Reload already in progress, request queued");
            self.reload_queued = true;
            return;
        }
        tracing::info!("Reloading");
        notify::notify("RELOADING=1");
        match load_config(&self.cli, true) {
            Err(e) => {
                tracing::error!(
                    "Reload aborted: the configuration has errors; generation {} keeps running",
                    self.current.number
                );
                self.reloads_refused += 1;
                notify::notify("READY=1");
                let diagnostics = match e {
                    LoadError::Invalid(d) => d,
                    LoadError::NoConfig => vec![format!(
                        "Configuration file '{}' cannot be read",
                        self.cli.config_file().display()
                    )],
                };
                let mut answer = Answer::error(format!(
                    "the new configuration was refused; generation {} keeps running",
                    self.current.number
                ));
                answer.diagnostics = diagnostics;
                for w in self.reload_waiters.drain(..) {
                    let _ = w.send(answer.clone());
                }
            }
            Ok(config) => {
                let now_wanted = wanted(&self.cli, &config);
                if config.global_defs.metrics_listen != self.metrics_listen {
                    tracing::warn!(
                        "metrics_listen changed; the metrics endpoint is bound at start and keeps its address until the daemon restarts"
                    );
                }
                match Generation::encode(self.current.number + 1, config) {
                    Ok(g) => self.current = g,
                    Err(e) => {
                        tracing::error!("Cannot serialise the configuration: {e}; reload aborted");
                        notify::notify("READY=1");
                        return;
                    }
                }
                for k in now_wanted {
                    if !self.slots.iter().any(|s| s.kind == k) {
                        tracing::warn!(
                            "The new configuration needs the {} child, which only starts with the daemon (restart to get it)",
                            k.label()
                        );
                    }
                }
                self.send_snapshots();
                keepalived_sys::mem::release_freed_memory();
                let kb = keepalived_sys::mem::release_startup_code();
                tracing::debug!("Supervisor's start-up code pages handed back: {kb} kB");
                self.reloading = Some((self.current.number, Instant::now() + RELOAD_TIMEOUT));
                self.check_reload_done();
            }
        }
    }

    fn check_reload_done(&mut self) {
        let Some((g, deadline)) = self.reloading else {
            return;
        };
        let all = self
            .slots
            .iter()
            .all(|s| s.running.as_ref().is_none_or(|r| r.acked >= g));
        if !all && Instant::now() < deadline {
            return;
        }
        let message = if all {
            tracing::info!("Reload finished: generation {g} is running");
            format!("generation {g} is running")
        } else {
            tracing::warn!("Reload of generation {g}: not every child answered in time");
            format!("generation {g} sent; not every child answered in time")
        };
        self.reloads_ok += 1;
        self.reloading = None;
        notify::notify("READY=1");
        if std::mem::take(&mut self.reload_queued) {
            // Waiters learn the outcome of the reload they queued.
            self.reload();
            return;
        }
        let answer = if all {
            Answer::ok(serde_json::json!({ "message": message, "generation": g }))
        } else {
            Answer::error(message)
        };
        for w in self.reload_waiters.drain(..) {
            let _ = w.send(answer.clone());
        }
    }

    fn check_ready(&mut self) {
        if self.ready_sent || self.stopping.is_some() {
            return;
        }
        let up = self
            .slots
            .iter()
            .all(|s| s.running.as_ref().is_some_and(|r| r.acked >= 1));
        if up {
            self.ready_sent = true;
            tracing::info!("All child processes are up");
            notify::notify(&format!("READY=1\nMAINPID={}", std::process::id()));
        }
    }

    fn dump(&mut self, kind: DumpKind) {
        if kind == DumpKind::Data {
            let mut text = format!(
                "------< Parent >------\n pid = {}\n config file = {}\n generation = {}\n",
                std::process::id(),
                self.cli.config_file().display(),
                self.current.number
            );
            for s in &self.slots {
                let pid = s.running.as_ref().map(|r| r.child.id().to_string());
                text.push_str(&format!(
                    " {} child = {}\n",
                    s.kind.label(),
                    pid.as_deref().unwrap_or("(not running)")
                ));
            }
            dump::write_logged(dump::PARENT_DATA, &text);
        }
        match proto::encode(&ToChild::Dump { kind }) {
            Ok(b) => self.send_all(&b),
            Err(e) => tracing::error!("{e}"),
        }
    }

    fn reap(&mut self) {
        let mut stop_code = None;
        let mut permanent = None;
        for slot in &mut self.slots {
            let Some(r) = &mut slot.running else { continue };
            let status = match r.child.try_wait() {
                Ok(Some(st)) => st,
                _ => continue,
            };
            let pid = r.child.id();
            slot.running = None;
            slot.pid_owed = None;
            pidfile::remove_if(&slot.pidfile, pid);
            let label = slot.kind.label();
            // A VRRP child that did not stop by itself (killed, crashed,
            // or SIGKILLed after child_wait_time) left its VIPs behind;
            // remove them now, not when (or if) a new child starts.
            let stopping = self.stopping.is_some();
            let unclean = status.signal().is_some() || !stopping;
            if slot.kind == Kind::Vrrp && unclean && !(stopping && self.cli.dont_release_vrrp) {
                let n = self
                    .current
                    .vrrp_config()
                    .map_or(0, |c| crate::child::release_vrrp_addresses(&c));
                if n > 0 {
                    tracing::warn!(
                        "{label} child process({pid}) left {n} virtual address(es): removed"
                    );
                }
            }
            // Same for a checker child's announced routes (a virtual
            // server's `announce`): withdrawn at once, even while stopping
            // (a checker killed mid-stop never withdrew them).
            if slot.kind == Kind::Checker && unclean {
                let n = crate::child::withdraw_checker_announces(&self.current.checker_announces);
                if n > 0 {
                    tracing::warn!(
                        "{label} child process({pid}) left {n} announced route(s): withdrawn"
                    );
                }
            }
            if unclean {
                kill_scripts_left_by(label, pid);
            }
            if stopping {
                tracing::info!("{label} child process({pid}) exited ({status})");
                continue;
            }
            if let Some((code, what)) = status.code().and_then(permanent_exit) {
                // keepalived ends everything here. We end only this
                // child: a checker that finds no IPVS in the kernel
                // must not take the VRRP instances down with it.
                tracing::error!(
                    "{label} child process({pid}) exited with permanent error {what}; not restarting it"
                );
                slot.respawn_at = None;
                permanent.get_or_insert(code);
                continue;
            }
            match status.code() {
                Some(c) => tracing::warn!("{label} child process({pid}) exited with status {c}"),
                None => tracing::warn!(
                    "{label} child process({pid}) exited due to signal {}",
                    status.signal().map(sigs::name).unwrap_or_default()
                ),
            }
            if self.cli.dont_respawn {
                tracing::error!("{label} child process({pid}) died: Exiting");
                stop_code.get_or_insert(exit::OK);
                continue;
            }
            let now = Instant::now();
            if now.duration_since(slot.started) < STABLE {
                slot.quick_deaths += 1;
            } else {
                slot.quick_deaths = 0;
            }
            let delay = if slot.quick_deaths <= 1 {
                Duration::ZERO
            } else {
                let steps = (slot.quick_deaths - 2).min(16);
                (Duration::from_millis(100) * 2u32.pow(steps)).min(BACKOFF_MAX)
            };
            tracing::warn!("{label} child process({pid}) died: Respawning in {delay:?}");
            slot.respawn_at = Some(now + delay);
        }
        let any_left = self
            .slots
            .iter()
            .any(|s| s.running.is_some() || s.respawn_at.is_some());
        if let Some(code) = permanent
            && !any_left
        {
            tracing::error!("No child process left. Terminating");
            stop_code.get_or_insert(code);
        }
        if let Some(code) = stop_code {
            self.begin_stop(code);
        }
    }

    fn read_channels(&mut self, ready: &[bool]) {
        for (slot, &rd) in self.slots.iter_mut().zip(ready) {
            let Some(r) = &mut slot.running else { continue };
            if !rd {
                continue;
            }
            let mut buf = [0u8; 4096];
            let _ = r.chan.set_nonblocking(true);
            loop {
                match r.chan.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => r.framer.push(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = r.chan.set_nonblocking(false);
            while let Some(msg) = r.framer.next::<FromChild>() {
                match msg {
                    Ok(FromChild::Applied {
                        generation,
                        summary,
                    }) => {
                        tracing::info!(
                            "{} child applied generation {generation}: {summary}",
                            slot.kind.label()
                        );
                        r.acked = r.acked.max(generation);
                        if slot.kind == Kind::Checker && generation >= self.current.number {
                            let before = self.current.checker.held();
                            if self.current.checker.pack() {
                                keepalived_sys::mem::release_freed_memory();
                                tracing::debug!(
                                    "Checker snapshot of generation {generation} kept packed: {before} -> {} bytes",
                                    self.current.checker.held()
                                );
                            }
                        }
                        // Watched from its first answer on: a child that
                        // stalls before its first heartbeat is caught too.
                        if r.last_beat.is_none() {
                            r.beat();
                        }
                    }
                    Ok(FromChild::Heartbeat) => r.beat(),
                    Ok(FromChild::Status { id, status }) => {
                        if let Some(q) = self.status_queries.iter_mut().find(|q| q.id == id)
                            && let Some(a) = q.answers.iter_mut().find(|a| a.0 == slot.kind)
                        {
                            a.1 = Some(status);
                        }
                    }
                    Err(e) => {
                        tracing::warn!("Bad message from the {} child: {e}", slot.kind.label())
                    }
                }
            }
        }
    }

    fn next_timeout(&self) -> PollTimeout {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for s in &self.slots {
            if let Some(t) = s.respawn_at {
                consider(t);
            }
            if let Some(owed) = &s.pid_owed {
                consider(owed.due());
            }
        }
        if let Some(t) = self.stopping
            && !self.killed
        {
            consider(t);
        }
        if let Some((_, t)) = self.reloading {
            consider(t);
        }
        for q in &self.status_queries {
            consider(q.deadline);
        }
        if self.stopping.is_none() {
            for s in &self.slots {
                if let Some(r) = &s.running
                    && let Some(t) = r.last_beat
                {
                    if r.starved_noted {
                        // Past its bound, given time: look again soon.
                        consider(now + Duration::from_millis(500));
                    } else {
                        consider(t + self.current.stall_bound(s.kind));
                    }
                }
            }
        }
        if let Some(t) = self.watchdog_next {
            consider(t);
        }
        match next {
            None => PollTimeout::NONE,
            Some(t) => {
                let ms = t.saturating_duration_since(now).as_millis() + 1;
                PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::MAX)
            }
        }
    }

    fn run_loop(&mut self, signals: &mut Signals) -> u8 {
        loop {
            // Due respawns (the first start is one too).
            let now = Instant::now();
            for i in 0..self.slots.len() {
                if self.stopping.is_none() && self.slots[i].respawn_at.is_some_and(|t| t <= now) {
                    self.spawn(i);
                }
            }
            if self.stopping.is_some() && self.slots.iter().all(|s| s.running.is_none()) {
                if let Some(server) = &self.control {
                    server.settle(Duration::from_secs(1));
                }
                return self.exit_code;
            }
            if let Some(deadline) = self.stopping
                && !self.killed
                && Instant::now() >= deadline
            {
                self.killed = true;
                for s in &self.slots {
                    if let Some(r) = &s.running {
                        tracing::warn!(
                            "{} process failed to die - forcing termination",
                            s.kind.label()
                        );
                        let _ = kill(Pid::from_raw(r.child.id() as i32), Signal::SIGKILL);
                    }
                }
            }
            let timeout = self.next_timeout();
            let (sig_ready, control_ready, chan_ready) = {
                let mut fds = vec![PollFd::new(signals.fd(), PollFlags::POLLIN)];
                let first_chan = match &self.control {
                    Some(c) => {
                        fds.push(PollFd::new(c.wake_fd(), PollFlags::POLLIN));
                        2
                    }
                    None => 1,
                };
                let mut index = Vec::new();
                for s in &self.slots {
                    if let Some(r) = &s.running {
                        fds.push(PollFd::new(r.chan.as_fd(), PollFlags::POLLIN));
                        index.push(true);
                    } else {
                        index.push(false);
                    }
                }
                match poll(&mut fds, timeout) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => {
                        tracing::error!("poll: {e}");
                        return exit::FATAL;
                    }
                }
                let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
                let sig = ready(&fds[0]);
                let control = first_chan == 2 && ready(&fds[1]);
                let mut k = first_chan;
                let chans: Vec<bool> = index
                    .iter()
                    .map(|&has| {
                        if has {
                            k += 1;
                            ready(&fds[k - 1])
                        } else {
                            false
                        }
                    })
                    .collect();
                (sig, control, chans)
            };
            self.read_channels(&chan_ready);
            if control_ready {
                self.control_requests();
            }
            if sig_ready {
                while let Some(sig) = signals.next() {
                    match sig {
                        libc::SIGCHLD => {}
                        libc::SIGHUP => self.reload(),
                        libc::SIGTERM | libc::SIGINT => {
                            tracing::info!("Stopping ({})", sigs::name(sig));
                            self.begin_stop(self.exit_code);
                        }
                        libc::SIGUSR1 => self.dump(DumpKind::Data),
                        libc::SIGUSR2 => self.dump(DumpKind::Stats),
                        s if s == sigs::sig_json() => self.dump(DumpKind::Json),
                        s if s == sigs::sig_stats_clear() => self.dump(DumpKind::StatsClear),
                        _ => {}
                    }
                }
            }
            self.check_stalls();
            self.systemd_watchdog();
            self.reap();
            self.pay_pid_files();
            self.check_ready();
            self.check_reload_done();
            self.finish_status_queries();
        }
    }

    /// The watchdog: a child whose loop has not turned within its bound
    /// is killed; reaping it then does what a crash calls for (VIPs
    /// removed, respawn with back-off).
    fn check_stalls(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        let now = Instant::now();
        for slot in &mut self.slots {
            let bound = self.current.stall_bound(slot.kind);
            let Some(r) = &mut slot.running else { continue };
            let Some(beat) = r.last_beat else { continue };
            let silent = now.duration_since(beat);
            if silent <= bound {
                continue;
            }
            let pid = r.child.id();
            if let stall::Verdict::Starved { waited } =
                stall::judge(silent, bound, r.beat_sched, SchedTimes::of(pid))
            {
                if !r.starved_noted {
                    r.starved_noted = true;
                    tracing::warn!(
                        "{} child process({pid}) has sent no heartbeat for {} ms (bound {} ms) but waited {} ms of it for a CPU: the host is starved, not the child stalled; waiting up to {} ms",
                        slot.kind.label(),
                        silent.as_millis(),
                        bound.as_millis(),
                        waited.as_millis(),
                        (bound * stall::STARVED_CEILING).as_millis()
                    );
                }
                continue;
            }
            tracing::error!(
                "{} child process({pid}) stalled: no heartbeat for {} ms (bound {} ms); killing it",
                slot.kind.label(),
                silent.as_millis(),
                bound.as_millis()
            );
            r.last_beat = None;
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }

    /// Pid files that could not be written when their child started: the
    /// file would name a dead child until the next respawn otherwise.
    fn pay_pid_files(&mut self) {
        let now = Instant::now();
        for slot in &mut self.slots {
            let Some(owed) = &mut slot.pid_owed else {
                continue;
            };
            if owed.retry(now) == pidfile::Retry::Written {
                tracing::info!(
                    "Wrote pid file {} (pid {}): it can be written again",
                    owed.path.display(),
                    owed.pid
                );
                slot.pid_owed = None;
            }
        }
    }

    /// `WATCHDOG=1` to systemd at half its `WatchdogSec`, from this loop:
    /// a supervisor that stops turning is restarted by systemd.
    fn systemd_watchdog(&mut self) {
        let Some(every) = self.watchdog_every else {
            return;
        };
        let now = Instant::now();
        if self.watchdog_next.is_none_or(|t| t <= now) {
            notify::notify("WATCHDOG=1");
            self.watchdog_next = Some(now + every);
        }
    }

    /// Requests from the control socket.
    fn control_requests(&mut self) {
        let Some(server) = &mut self.control else {
            return;
        };
        for Pending { cmd, ask, reply } in server.drain() {
            if self.stopping.is_some() {
                let _ = reply.send(Answer::error("the daemon is stopping"));
                continue;
            }
            match cmd {
                ControlCommand::Status => self.start_status_query(reply, ask),
                ControlCommand::Reload => {
                    self.reload_waiters.push(reply);
                    tracing::info!("Reload requested on the control socket");
                    self.reload();
                }
                ControlCommand::Stop => {
                    tracing::info!("Stop requested on the control socket");
                    let _ = reply.send(Answer::ok(serde_json::json!({ "message": "stopping" })));
                    self.begin_stop(self.exit_code);
                }
            }
        }
    }

    /// Asks every running child for its status; the answer goes out when
    /// all have answered or [`STATUS_DEADLINE`] has passed.
    fn start_status_query(&mut self, reply: Sender<Answer>, ask: proto::StatusAsk) {
        self.next_query_id += 1;
        let id = self.next_query_id;
        let mut answers = Vec::new();
        let view = ask.view;
        if let Ok(bytes) = proto::encode(&ToChild::Status { id, ask }) {
            for slot in &mut self.slots {
                if let Some(r) = &mut slot.running
                    && io::Write::write_all(&mut r.chan, &bytes).is_ok()
                {
                    answers.push((slot.kind, None));
                }
            }
        }
        self.status_queries.push(StatusQuery {
            id,
            view,
            reply,
            answers,
            deadline: Instant::now() + STATUS_DEADLINE,
        });
    }

    fn finish_status_queries(&mut self) {
        let now = Instant::now();
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.status_queries)
            .into_iter()
            .partition(|q| now >= q.deadline || q.answers.iter().all(|a| a.1.is_some()));
        self.status_queries = waiting;
        for q in done {
            let _ = q.reply.send(self.status_of(&q));
        }
    }

    /// The supervisor's own state and each child's answer (copied as
    /// text, never parsed: a large table's answer is megabytes).
    fn status_of(&self, q: &StatusQuery) -> Answer {
        let children: Vec<serde_json::Value> = self
            .slots
            .iter()
            .map(|slot| {
                let running = slot.running.as_ref();
                let answer = match (running, q.answers.iter().find(|a| a.0 == slot.kind)) {
                    (None, _) => "not running",
                    (Some(_), Some((_, Some(_)))) => "ok",
                    (Some(_), _) => "no answer in time (busy applying a configuration?)",
                };
                serde_json::json!({
                    "kind": match slot.kind { Kind::Vrrp => "vrrp", Kind::Checker => "checker" },
                    "pid": running.map(|r| r.child.id()),
                    "restarts": slot.spawns.saturating_sub(1),
                    "generation": running.map(|r| r.acked).filter(|g| *g > 0),
                    "answer": answer,
                })
            })
            .collect();
        let part = |kind: Kind| {
            q.answers
                .iter()
                .find(|a| a.0 == kind)
                .and_then(|a| a.1.as_deref())
        };
        Answer::ok(StatusAnswer {
            view: q.view,
            daemon: serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "pid": std::process::id(),
                "uptime_s": self.started_at.elapsed().as_secs(),
                "config_file": self.cli.config_file(),
                "generation": self.current.number,
                "reloading": self.reloading.is_some(),
                "reloads_ok": self.reloads_ok,
                "reloads_refused": self.reloads_refused,
                "children": children,
            }),
            vrrp: part(Kind::Vrrp),
            checker: part(Kind::Checker),
        })
    }
}

/// Scripts started by a child that died without stopping (and whatever
/// they started) are found by the marker in their environment and
/// killed with their process groups: nothing else would ever enforce
/// their timeouts. A stopping child kills its runs itself. A process
/// that called setsid (a daemon a notify script started) left our
/// session on purpose and is left alone, as a finished run's group kill
/// leaves it (child/vrrp/track.rs).
fn kill_scripts_left_by(label: &str, child: u32) {
    use keepalived_sys::script;
    use nix::sys::signal::{Signal, kill, killpg};
    use nix::unistd::{Pid, getpgid, getsid};
    let session = getsid(None).ok();
    let left: Vec<u32> = script::leftovers_of(child)
        .into_iter()
        .filter(|&p| i32::try_from(p).is_ok_and(|p| getsid(Some(Pid::from_raw(p))).ok() == session))
        .collect();
    for &p in &left {
        let Ok(pid) = i32::try_from(p) else { continue };
        let pid = Pid::from_raw(pid);
        // A run leads its own group: the group takes what it started
        // with it; a straggler in another group is killed alone.
        if getpgid(Some(pid)) == Ok(pid) {
            let _ = killpg(pid, Signal::SIGKILL);
        }
        let _ = kill(pid, Signal::SIGKILL);
    }
    if !left.is_empty() {
        tracing::warn!(
            "{label} child process({child}) left {} script process(es) running: killed",
            left.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use keepalived_config::model::lvs::VirtualServer;
    use keepalived_config::model::vrrp::VrrpInstance;

    /// The answer written from the children's text has the bytes the
    /// answer had when their parts were parsed into one `Value` and
    /// written again (a child writes its part from a `Value` too).
    #[test]
    fn a_status_answer_relayed_unparsed_has_the_bytes_of_one_parsed_and_written_again() {
        let vrrp = serde_json::json!({
            "instances": [{"name": "VI_1", "state": "MASTER", "vrid": 51, "state_since_s": 12.5,
                           "vips": ["192.0.2.1/32"], "note": "\u{e9}\n\"q\"", "fault_reasons": []}],
            "announces": [],
            "by_state": {"MASTER": 1, "BACKUP": 0},
        });
        let vrrp_raw = serde_json::value::to_raw_value(&vrrp).expect("json");
        let daemon = serde_json::json!({"version": "0.1.0", "pid": 7, "reloading": false,
            "children": [{"kind": "vrrp", "pid": 8, "generation": null}]});
        for view in [proto::StatusView::Summary, proto::StatusView::Detail] {
            let relayed = StatusAnswer {
                checker: None,
                daemon: daemon.clone(),
                view,
                vrrp: Some(&vrrp_raw),
            };
            let parsed = serde_json::json!({
                "view": view,
                "daemon": daemon,
                "vrrp": serde_json::from_str::<serde_json::Value>(vrrp_raw.get()).expect("json"),
                "checker": null,
            });
            let want = serde_json::to_string(&parsed).expect("json");
            assert_eq!(serde_json::to_string(&relayed).expect("json"), want);
            assert_eq!(
                Answer::ok(relayed).to_line(),
                format!("{{\"version\":1,\"ok\":true,\"result\":{want}}}\n")
            );
        }
    }

    fn cli(args: &[&str]) -> Cli {
        let mut v = vec!["k"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v).expect("parses")
    }

    #[test]
    fn only_keepalived_permanent_codes_stop_respawning() {
        assert_eq!(permanent_exit(1), Some((1, "FATAL")));
        assert_eq!(permanent_exit(2), Some((2, "CONFIG")));
        assert_eq!(permanent_exit(4), Some((4, "MISSING_PERMISSION")));
        for c in [0, 3, 6, 70, 257, -1] {
            assert_eq!(permanent_exit(c), None, "{c}");
        }
    }

    #[test]
    fn children_follow_the_config_and_flags() {
        let both = Config {
            vrrp_instances: vec![VrrpInstance::default()],
            virtual_servers: vec![VirtualServer::default()],
            ..Config::default()
        };
        let vrrp_only = Config {
            vrrp_instances: vec![VrrpInstance::default()],
            ..Config::default()
        };
        let empty = Config::default();
        assert_eq!(wanted(&cli(&[]), &both), [Kind::Vrrp, Kind::Checker]);
        assert_eq!(wanted(&cli(&["-P"]), &both), [Kind::Vrrp]);
        assert_eq!(wanted(&cli(&["-C"]), &both), [Kind::Checker]);
        assert_eq!(
            wanted(&cli(&["-P", "-C"]), &both),
            [Kind::Vrrp, Kind::Checker]
        );
        assert_eq!(wanted(&cli(&[]), &vrrp_only), [Kind::Vrrp]);
        assert_eq!(wanted(&cli(&["-C"]), &vrrp_only), []);
        assert_eq!(wanted(&cli(&[]), &empty), []);
        assert_eq!(
            wanted(&cli(&["--all"]), &empty),
            [Kind::Vrrp, Kind::Checker]
        );
        assert_eq!(wanted(&cli(&["--all", "-C"]), &empty), [Kind::Checker]);
    }
}
