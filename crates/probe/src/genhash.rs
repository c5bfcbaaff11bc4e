// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `genhash` (keepalived 2.2.7 `check_genhash.c`): fetch one url the way
//! HTTP_GET / SSL_GET do and print the MD5 of the body, for a `digest`
//! line. Same request bytes and answer handling as the checker (they share
//! [`crate::http`]).
//!
//! Output, as keepalived's: the digest as 32 lowercase hex digits and a
//! newline on stdout (the status code is not checked); a failure prints
//! the checker's reason on stdout (`Connection failed`, `Timeout
//! connecting`, ...), an answer without a head prints `no data received
//! from remote webserver` on stderr; all of these exit 0. Usage errors
//! print a message and the usage on stderr and exit 1. `-v` adds
//! keepalived's hex dumps and the response time.
//!
//! Where we differ on purpose: `--url` without its value names the option
//! (keepalived prints garbage); a local error (bind, SO_MARK) prints its
//! reason and ends instead of retrying for ever.

use std::ffi::OsString;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::http::request::{self, Protocol};
use crate::http::response::{self, HEAD_LIMIT};
use crate::http::{Ended, Exchange, exchange};
use crate::spec::ConnOpts;

const DELIM_BEGIN: &str = "-----------------------[";
const DELIM_END: &str = "]-----------------------\n";

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub server: IpAddr,
    pub port: u16,
    pub url: String,
    pub ssl: bool,
    pub sni: bool,
    pub vhost: Option<String>,
    pub protocol: Protocol,
    pub fwmark: u32,
    /// Microseconds; keepalived's default is UINT_MAX (about 71 minutes).
    pub timeout_us: u32,
    pub verbose: bool,
}

/// A usage error: the message printed before the usage (may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub Vec<String>);

const SHORT_WITH_ARG: &[char] = &['s', 'V', 'p', 'u', 'm', 'P', 't'];
const SHORT_FLAGS: &[char] = &['h', 'v', 'S', 'I'];
const LONG: &[(&str, char, bool)] = &[
    ("help", 'h', false),
    ("verbose", 'v', false),
    ("use-ssl", 'S', false),
    ("use-sni", 'I', false),
    ("server", 's', true),
    ("use-virtualhost", 'V', true),
    ("port", 'p', true),
    ("url", 'u', true),
    ("fwmark", 'm', true),
    ("protocol", 'P', true),
    ("timeout", 't', true),
];

/// One option as getopt_long would return it.
enum Opt {
    Value(char, String),
    Flag(char),
    /// `?`: the text to print.
    Unknown(String),
    /// `:`.
    Missing(String),
}

/// A GNU getopt_long walk (permuting: operands are collected).
fn getopt(args: &[String]) -> (Vec<Opt>, Vec<String>) {
    let mut opts = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let exact = LONG.iter().find(|(n, _, _)| *n == name);
            let prefixed: Vec<_> = LONG
                .iter()
                .filter(|(n, _, _)| n.starts_with(name))
                .collect();
            let found = exact.or(if prefixed.len() == 1 {
                prefixed.first().copied()
            } else {
                None
            });
            match found {
                None => opts.push(Opt::Unknown(format!("Unknown option {a}"))),
                Some(&(full, c, false)) => match value {
                    Some(_) => opts.push(Opt::Unknown(format!("Unknown option {a}"))),
                    None => {
                        let _ = full;
                        opts.push(Opt::Flag(c));
                    }
                },
                Some(&(full, c, true)) => match value {
                    Some(v) => opts.push(Opt::Value(c, v)),
                    None => match args.get(i) {
                        Some(v) => {
                            i += 1;
                            opts.push(Opt::Value(c, v.clone()));
                        }
                        None => opts.push(Opt::Missing(format!(
                            "Missing parameter for option --{full}"
                        ))),
                    },
                },
            }
            continue;
        }
        let Some(cluster) = a.strip_prefix('-').filter(|c| !c.is_empty()) else {
            operands.push(a.clone());
            continue;
        };
        let chars: Vec<char> = cluster.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            if SHORT_FLAGS.contains(&c) {
                opts.push(Opt::Flag(c));
            } else if SHORT_WITH_ARG.contains(&c) {
                let rest: String = chars[j..].iter().collect();
                if !rest.is_empty() {
                    opts.push(Opt::Value(c, rest));
                } else if let Some(v) = args.get(i) {
                    i += 1;
                    opts.push(Opt::Value(c, v.clone()));
                } else {
                    opts.push(Opt::Missing(format!("Missing parameter for option -{c}")));
                }
                break;
            } else {
                opts.push(Opt::Unknown(format!("Unknown option -{c}")));
            }
        }
    }
    (opts, operands)
}

/// C's strtol/strtoul base 10 on the whole string: `None` unless every
/// byte is used.
fn c_number(s: &str) -> Option<i128> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        // No conversion: only an empty string is "fully used".
        return s.is_empty().then_some(0);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i128 = digits.parse().unwrap_or(i128::MAX);
    Some(if neg { -v } else { v })
}

/// Parses the arguments after the program name (and after `-T`). `argc`
/// is keepalived's count, which it requires to be above 2.
pub fn parse(args: &[String], argc: usize) -> Result<Args, Usage> {
    let mut msgs = Vec::new();
    if argc <= 2 {
        return Err(Usage(msgs));
    }
    let (opts, operands) = getopt(args);
    let mut bad = false;
    let mut a = Args {
        server: IpAddr::from([0, 0, 0, 0]),
        port: 0,
        url: String::new(),
        ssl: false,
        sni: false,
        vhost: None,
        protocol: Protocol::Http10,
        fwmark: 0,
        timeout_us: u32::MAX,
        verbose: false,
    };
    let (mut server, mut port, mut url) = (false, false, false);
    for o in opts {
        match o {
            Opt::Flag('h') => bad = true,
            Opt::Flag('v') => a.verbose = true,
            Opt::Flag('S') => a.ssl = true,
            Opt::Flag('I') => a.sni = true,
            Opt::Flag(_) => {}
            Opt::Unknown(m) | Opt::Missing(m) => {
                msgs.push(m);
                bad = true;
            }
            Opt::Value('s', v) => match v.parse::<IpAddr>() {
                Ok(ip) => {
                    a.server = ip;
                    server = true;
                }
                Err(_) => {
                    msgs.push(format!("server should be an IP, not {v}"));
                    return Err(Usage(msgs));
                }
            },
            Opt::Value('V', v) => a.vhost = Some(v),
            Opt::Value('p', v) => match c_number(&v).filter(|n| (1..=65535).contains(n)) {
                Some(n) => {
                    a.port = u16::try_from(n).unwrap_or(0);
                    port = true;
                }
                None => {
                    msgs.push(format!("invalid port number '{v}'"));
                    return Err(Usage(msgs));
                }
            },
            Opt::Value('u', v) => {
                a.url = v;
                url = true;
            }
            Opt::Value('m', v) => {
                let start = v.trim_start_matches([' ', '\t']);
                match c_number(start).filter(|_| !start.starts_with('-')) {
                    // strtoul wraps to unsigned long, then keepalived keeps
                    // an unsigned int.
                    Some(n) => a.fwmark = (n as u64) as u32,
                    None => {
                        msgs.push(format!("invalid fwmark '{v}'"));
                        return Err(Usage(msgs));
                    }
                }
            }
            Opt::Value('P', v) => {
                a.protocol = match v.as_str() {
                    "1.0" => Protocol::Http10,
                    "1.0c" | "1.0C" => Protocol::Http10C,
                    "1.1" => Protocol::Http11,
                    _ => {
                        msgs.push(format!("invalid HTTP protocol version '{v}'"));
                        return Err(Usage(msgs));
                    }
                }
            }
            Opt::Value('t', v) => {
                let start = v.trim_start_matches([' ', '\t']);
                match c_number(start).filter(|_| !start.is_empty() && !start.starts_with('-')) {
                    Some(n) => a.timeout_us = ((n as u64) as u32).wrapping_mul(1_000_000),
                    None => {
                        msgs.push(format!("invalid timeout '{v}'"));
                        return Err(Usage(msgs));
                    }
                }
            }
            Opt::Value(..) => {}
        }
    }
    if bad {
        return Err(Usage(msgs));
    }
    if !operands.is_empty() {
        msgs.push(format!("Unexpected argument(s): {}", operands.join(" ")));
        return Err(Usage(msgs));
    }
    if server && port && url {
        Ok(a)
    } else {
        Err(Usage(msgs))
    }
}

/// keepalived's usage text.
pub fn usage(prog: &str, am_genhash: bool) -> String {
    format!(
        "Usage: {prog}{} COMMAND [OPTIONS]\n\
         Commands:\n   -s server-address -p port -u url\n   -S -s server-address -p port -u url\n   -h\n\n\
         Options:\n\
         Either long or short options are allowed.\n\
         \x20  --use-ssl         -S       Use SSL connection to remote server.\n\
         \x20  --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).\n\
         \x20  --server          -s       Use the specified remote server address.\n\
         \x20  --port            -p       Use the specified remote server port.\n\
         \x20  --url             -u       Use the specified remote server url.\n\
         \x20  --use-virtualhost -V       Use the specified virtualhost in GET query.\n\
         \x20  --verbose         -v       Use verbose mode output.\n\
         \x20  --help            -h       Display this short inlined help screen.\n\
         \x20  --fwmark          -m       Use the specified FW mark.\n\
         \x20  --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.\n\
         \x20                               1.0c means 1.0 with 'Connection: close'\n\
         \x20  --timeout         -t       Timeout in seconds\n",
        if am_genhash { "" } else { " --genhash" }
    )
}

/// keepalived's `dump_buffer`: 16 bytes a line, offset, hex, ASCII.
pub fn dump_buffer(buf: &[u8], out: &mut Vec<u8>) {
    let padded = buf.len().div_ceil(16) * 16;
    for i in 0..padded {
        if i % 16 == 0 {
            out.extend_from_slice(format!("{:04} ", i & 0xffff).as_bytes());
        }
        match buf.get(i) {
            Some(b) => out.extend_from_slice(format!(" {b:02x}").as_bytes()),
            None => out.extend_from_slice(b"   "),
        }
        if (i + 1) % 8 == 0 {
            if (i + 1) % 16 != 0 {
                out.extend_from_slice(b" -");
            } else {
                out.extend_from_slice(b"   ");
                for j in i - 15..=i {
                    out.push(match buf.get(j) {
                        Some(&c) if (0x20..=0x7e).contains(&c) => c,
                        Some(_) => b'.',
                        None => b' ',
                    });
                }
                out.push(b'\n');
            }
        }
    }
}

fn banner(title: &str) -> String {
    format!("{DELIM_BEGIN}{title}{DELIM_END}")
}

/// The `-v` dumps, driven by the bytes as they are read (keepalived's
/// layout depends on how the answer was split into reads, and so does
/// ours).
#[derive(Default)]
struct Verbose {
    pending: Vec<u8>,
    head_done: bool,
    content_length: Option<u64>,
    hashed: u64,
    out: Vec<u8>,
}

impl Verbose {
    fn chunk(&mut self, data: &[u8]) {
        if !self.head_done {
            self.out
                .extend_from_slice(banner("    HTTP Header Buffer    ").as_bytes());
            let room = HEAD_LIMIT.saturating_sub(self.pending.len());
            self.pending
                .extend_from_slice(&data[..data.len().min(room)]);
            let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            let len = end + 4;
            self.head_done = true;
            let pending = std::mem::take(&mut self.pending);
            let head = &pending[..len];
            self.content_length = response::content_length(head);
            dump_buffer(head, &mut self.out);
            self.out
                .extend_from_slice(banner(" HTTP Header Ascii Buffer ").as_bytes());
            self.out.extend_from_slice(head);
            self.out.push(b'\n');
            let body = &pending[len..];
            if !body.is_empty() && self.content_length != Some(0) {
                self.out
                    .extend_from_slice(banner("        HTML Buffer        ").as_bytes());
                self.body(body);
            }
            return;
        }
        self.body(data);
    }

    fn body(&mut self, data: &[u8]) {
        let room = self
            .content_length
            .map_or(u64::MAX, |cl| cl.saturating_sub(self.hashed));
        if room == 0 {
            return;
        }
        let n = usize::try_from(room).map_or(data.len(), |r| r.min(data.len()));
        dump_buffer(&data[..n], &mut self.out);
        self.hashed += n as u64;
    }
}

/// Runs genhash. `prog` is argv[0]; `args` what follows it (after `-T`
/// for `keepalived-rs -T`). Writes to stdout/stderr, returns the exit code.
pub fn main(prog: &str, am_genhash: bool, args: &[OsString]) -> u8 {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let argc = args.len() + if am_genhash { 1 } else { 2 };
    let parsed = match parse(&args, argc) {
        Ok(a) => a,
        Err(Usage(msgs)) => {
            let mut err = std::io::stderr().lock();
            for m in msgs {
                let _ = writeln!(err, "{m}");
            }
            let _ = err.write_all(usage(prog, am_genhash).as_bytes());
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("genhash: cannot start: {e}");
            return 1;
        }
    };
    let (stdout, stderr) = runtime.block_on(fetch(&parsed));
    let _ = std::io::stdout().lock().write_all(&stdout);
    let _ = std::io::stdout().lock().flush();
    let _ = std::io::stderr().lock().write_all(&stderr);
    0
}

/// One genhash run: what goes to stdout and to stderr.
pub async fn fetch(a: &Args) -> (Vec<u8>, Vec<u8>) {
    let started = std::time::Instant::now();
    let target = SocketAddr::new(a.server, a.port);
    let conn = ConnOpts::new(
        None,
        None,
        (a.fwmark != 0).then_some(a.fwmark),
        Duration::from_micros(u64::from(a.timeout_us)),
    );
    let tls = if a.ssl {
        match crate::tls::client_config(None) {
            Ok(c) => Some(c),
            Err(e) => {
                return (
                    Vec::new(),
                    format!("Cannot initialize SSL context. {e}\n").into_bytes(),
                );
            }
        }
    } else {
        None
    };
    let sni = if a.sni { a.vhost.as_deref() } else { None };
    let x = Exchange {
        target,
        conn: &conn,
        tls: tls.as_ref().map(|c| (c, sni)),
        request: request::build(&a.url, a.protocol, a.vhost.as_deref(), target),
        digest: true,
        regex: None,
        // genhash bounds each step only, as keepalived's does.
        budget: None,
    };
    let mut verbose = Verbose::default();
    let ended = if a.verbose {
        exchange(x, &mut |chunk: &[u8]| verbose.chunk(chunk)).await
    } else {
        exchange(x, &mut |_: &[u8]| {}).await
    };
    let mut out = std::mem::take(&mut verbose.out);
    let mut err = Vec::new();
    match ended {
        Ended::Fail { reason, .. } => {
            out.extend_from_slice(reason.as_bytes());
            out.push(b'\n');
        }
        Ended::Answer(d) => {
            let md5 = d.md5.unwrap_or_default();
            if a.verbose {
                out.push(b'\n');
                out.extend_from_slice(banner("    HTML hash resulting    ").as_bytes());
                dump_buffer(&md5, &mut out);
                out.extend_from_slice(banner(" HTML hash final resulting ").as_bytes());
            }
            if d.head.is_none() {
                err.extend_from_slice(b"no data received from remote webserver\n");
            } else {
                for b in md5 {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.push(b'\n');
            }
        }
    }
    if a.verbose {
        out.extend_from_slice(
            format!(
                "\nGlobal response time for [{}] = {} usecs\n",
                a.url,
                started.elapsed().as_micros()
            )
            .as_bytes(),
        );
    }
    (out, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, Usage> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&v, v.len() + 1)
    }

    #[test]
    fn command_line_as_keepalived() {
        let a = p(&["-s", "127.0.0.1", "-p", "80", "-u", "/"]).expect("valid");
        assert_eq!((a.port, a.url.as_str(), a.timeout_us), (80, "/", u32::MAX));
        let a = p(&[
            "--serv",
            "::1",
            "--port=8080",
            "-u/x",
            "-vSI",
            "-V",
            "h",
            "-P",
            "1.0c",
            "-t",
            "3",
        ])
        .expect("valid");
        assert!(a.verbose && a.ssl && a.sni);
        assert_eq!(a.protocol, Protocol::Http10C);
        assert_eq!(a.timeout_us, 3_000_000);
        assert_eq!(
            p(&["-s", "localhost", "-p", "1", "-u", "/"]),
            Err(Usage(vec!["server should be an IP, not localhost".into()]))
        );
        assert_eq!(
            p(&["-s", "127.0.0.1", "-p", "0", "-u", "/"]),
            Err(Usage(vec!["invalid port number '0'".into()]))
        );
        assert_eq!(
            p(&["-s", "127.0.0.1", "-p", "1", "-u", "/", "extra"]),
            Err(Usage(vec!["Unexpected argument(s): extra".into()]))
        );
        assert_eq!(
            p(&["-x", "-s", "1.2.3.4"]),
            Err(Usage(vec!["Unknown option -x".into()]))
        );
        assert_eq!(
            p(&["-s", "127.0.0.1", "-p", "1", "-u"]),
            Err(Usage(vec!["Missing parameter for option -u".into()]))
        );
        assert_eq!(p(&["-s", "127.0.0.1", "-p", "1"]), Err(Usage(vec![])));
        assert_eq!(p(&["-h", "-s", "127.0.0.1"]), Err(Usage(vec![])));
    }

    #[test]
    fn dump_layout() {
        let mut out = Vec::new();
        dump_buffer(b"hi\n", &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "0000  68 69 0a                -                           hi.             \n"
        );
    }
}
