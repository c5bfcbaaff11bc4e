// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The command line, flag for flag as keepalived 2.2.7 (`keepalived --help`).
//!
//! Flags that later subsystems implement are parsed and kept here so that
//! existing unit files and scripts keep working unchanged.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Parser};

pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

/// keepalived's options. Help and version are handled by us (keepalived
/// writes them to stderr and exits 0).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "keepalived-rs",
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct Cli {
    #[arg(short = 'f', long = "use-file", value_name = "FILE")]
    pub use_file: Option<PathBuf>,
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    #[arg(long = "all")]
    pub all: bool,
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY")]
    pub log_facility: Option<String>,
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    #[arg(short = 'g', long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,
    /// keepalive-rs addition: log as JSON lines (for log shippers).
    #[arg(long = "log-json")]
    pub log_json: bool,
    /// keepalived-rs addition: where the control socket lives (default:
    /// beside the parent's pid file, `.sock` for `.pid`).
    #[arg(long = "control-socket", value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// keepalived-rs addition: serve Prometheus metrics over HTTP at
    /// ADDR:PORT (`/metrics`). Off unless given here or as `metrics_listen`
    /// in global_defs.
    #[arg(long = "metrics", value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<PathBuf>,
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<PathBuf>,
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATN", num_args = 0..=1,
          require_equals = true, default_missing_value = "core")]
    pub core_dump_pattern: Option<String>,
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// `-t` alone tests to stderr; `-t=FILE` / `--config-test=FILE` writes
    /// the report to FILE.
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,
    #[arg(short = 'v', long = "version", action = ArgAction::SetTrue)]
    pub version: bool,
    #[arg(short = 'h', long = "help", action = ArgAction::SetTrue)]
    pub help: bool,
    /// Words that are not options: keepalived warns and ignores them.
    #[arg(hide = true, trailing_var_arg = false)]
    pub extra: Vec<String>,
}

impl Cli {
    pub fn config_file(&self) -> PathBuf {
        self.use_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }
}

/// Short options whose argument is optional: getopt gives them the rest of
/// their cluster (`-tFILE`, even `-tn` means "test, log to file n").
const OPTIONAL_ARG_SHORTS: &[(char, &str)] =
    &[('t', "--config-test"), ('M', "--core-dump-pattern")];
/// Short options with a required argument: the rest of the cluster or the
/// next word is theirs, so an optional-argument letter inside it is data.
const REQUIRED_ARG_SHORTS: &str = "fSgupcrbAsi";

/// Rewrites getopt-style clusters that clap reads differently
/// (`-lDtFILE` -> `-lD --config-test=FILE`).
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut iter = args.into_iter();
    if let Some(prog) = iter.next() {
        out.push(prog);
    }
    let mut only_words = false;
    for arg in iter {
        let s = match arg.to_str() {
            Some(s) if !only_words && s.starts_with('-') && !s.starts_with("--") && s.len() > 1 => {
                s
            }
            _ => {
                if arg == "--" {
                    only_words = true;
                }
                out.push(arg);
                continue;
            }
        };
        let body = &s[1..];
        let mut kept = String::from("-");
        let mut rewritten = None;
        for (i, ch) in body.char_indices() {
            if REQUIRED_ARG_SHORTS.contains(ch) {
                // The remainder is this option's argument: leave it alone.
                kept.push_str(&body[i..]);
                break;
            }
            if let Some((_, long)) = OPTIONAL_ARG_SHORTS.iter().find(|(c, _)| *c == ch) {
                let rest = &body[i + ch.len_utf8()..];
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                rewritten = Some(if rest.is_empty() {
                    (*long).to_string()
                } else {
                    format!("{long}={rest}")
                });
                break;
            }
            kept.push(ch);
        }
        if kept.len() > 1 {
            out.push(kept.into());
        }
        if let Some(r) = rewritten {
            out.push(r.into());
        }
    }
    out
}

/// Signal numbers for `--signum`, as keepalived reports them.
pub fn signum(name: &str) -> Option<i32> {
    match name {
        "STOP" => Some(libc::SIGTERM),
        "RELOAD" => Some(libc::SIGHUP),
        "DATA" => Some(libc::SIGUSR1),
        "STATS" => Some(libc::SIGUSR2),
        "STATS_CLEAR" => Some(crate::sigs::sig_stats_clear()),
        "JSON" => Some(crate::sigs::sig_json()),
        _ => None,
    }
}

pub const HELP: &str = "\
Usage: keepalived-rs [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                                default '/etc/keepalived/keepalived.conf'
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -B, --no_bfd                 Don't run BFD subsystem
      --all                    Force all child processes to run, even if have no configuration
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
  -G, --no-syslog              Don't log via syslog
  -g, --log-file=FILE          Log to FILE
      --flush-log-file         Flush the log file after each message
      --log-json               Log JSON lines (with -l or -g)
      --control-socket=PATH    Control socket for `keepalived-rs status|reload|stop`
                                (default: the parent's pid file with .sock for .pid)
      --metrics=ADDR:PORT      Serve Prometheus metrics at http://ADDR:PORT/metrics
  -u, --umask=MASK             umask for file creation (in numeric form)
  -X, --release-vips           Drop VIP on transition from signal.
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -R, --dont-respawn           Don't respawn child processes
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data (JSON, on stdout)
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -T, --genhash                Enter into genhash utility mode (this should be the first option used).
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -a, --address-monitoring     Report all address additions/deletions notified via netlink
  -b, --bfd_pid=FILE           Use specified pidfile for BFD child process
  -x, --snmp                   Enable SNMP subsystem
  -A, --snmp-agent-socket=FILE Use the specified socket for master agent
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
  -m, --core-dump              Produce core dump if terminate abnormally
  -M, --core-dump-pattern=PATN Also set /proc/sys/kernel/core_pattern to PATN (default 'core')
  -e, --all-config             Error if any configuration file missing (same as includet)
  -i, --config-id id           Skip any configuration lines beginning '@' that don't match id
                                or any lines beginning @^ that do match.
                                The config-id defaults to the node name if option not used
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                                stderr by default
  -v, --version                Display the version number
  -h, --help                   Display this help message
";

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn optional_argument_clusters_follow_getopt() {
        assert_eq!(norm(&["k", "-t"]), ["k", "--config-test"]);
        assert_eq!(norm(&["k", "-tn"]), ["k", "--config-test=n"]);
        assert_eq!(
            norm(&["k", "-lDt/tmp/x"]),
            ["k", "-lD", "--config-test=/tmp/x"]
        );
        assert_eq!(norm(&["k", "-ft.conf"]), ["k", "-ft.conf"]);
        assert_eq!(norm(&["k", "-M"]), ["k", "--core-dump-pattern"]);
        assert_eq!(norm(&["k", "--", "-t"]), ["k", "--", "-t"]);
    }

    #[test]
    fn every_keepalived_flag_parses() {
        let args = norm(&[
            "k",
            "-f",
            "/x.conf",
            "-P",
            "-C",
            "-B",
            "--all",
            "-l",
            "-D",
            "-S",
            "local3",
            "-G",
            "-u",
            "022",
            "-X",
            "-V",
            "-I",
            "-R",
            "-n",
            "-d",
            "-p",
            "/a",
            "-r",
            "/b",
            "-c",
            "/c",
            "-a",
            "-b",
            "/d",
            "-x",
            "-A",
            "/e",
            "-s",
            "ns1",
            "-m",
            "-M=pat",
            "-e",
            "-i",
            "lb1",
            "--signum=STOP",
            "-t",
        ]);
        let cli = Cli::try_parse_from(args).expect("parses");
        assert_eq!(cli.config_file(), PathBuf::from("/x.conf"));
        assert!(cli.vrrp && cli.check && cli.no_bfd && cli.all && cli.dont_fork && cli.dump_conf);
        assert_eq!(cli.log_facility.as_deref(), Some("local3"));
        assert_eq!(cli.core_dump_pattern.as_deref(), Some("pat"));
        assert_eq!(cli.config_id.as_deref(), Some("lb1"));
        assert_eq!(cli.config_test.as_deref(), Some(""));
        assert_eq!(cli.namespace.as_deref(), Some("ns1"));
    }

    #[test]
    fn long_forms_and_signals() {
        let cli = Cli::try_parse_from(norm(&[
            "k",
            "--use-file=/y",
            "--config-test=/tmp/log",
            "--dont-fork",
        ]))
        .expect("parses");
        assert_eq!(cli.config_file(), PathBuf::from("/y"));
        assert_eq!(cli.config_test.as_deref(), Some("/tmp/log"));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("stop"), None);
    }
}
