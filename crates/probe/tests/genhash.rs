// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Our genhash next to keepalived 2.2.7's real `genhash` on the same local
//! servers: the same request bytes (genhash shares keepalived's request
//! builder with HTTP_GET, so this also checks the checker's request), the
//! same stdout, stderr and exit code.

mod common;

use std::process::Command;

use common::{Server, closed_port, runtime, self_signed};
use keepalived_probe::genhash;

struct Out {
    stdout: String,
    stderr: String,
    code: i32,
}

fn theirs(args: &[String]) -> Out {
    let o = Command::new("genhash")
        .args(args)
        .output()
        .expect("keepalived's genhash must be installed (apt-get install keepalived)");
    Out {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

fn ours(args: &[String]) -> Out {
    match genhash::parse(args, args.len() + 1) {
        Ok(a) => {
            let (out, err) = runtime().block_on(genhash::fetch(&a));
            Out {
                stdout: String::from_utf8_lossy(&out).into_owned(),
                stderr: String::from_utf8_lossy(&err).into_owned(),
                code: 0,
            }
        }
        Err(genhash::Usage(msgs)) => {
            let mut stderr: String = msgs.iter().map(|m| format!("{m}\n")).collect();
            stderr.push_str(&genhash::usage("genhash", true));
            Out {
                stdout: String::new(),
                stderr,
                code: 1,
            }
        }
    }
}

fn args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["-s", "127.0.0.1", "-p", &port.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The "Global response time" line differs by nature.
fn without_timing(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("Global response time for"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn same(mode: &str, server_extra: &[&str], flags: &[&str]) {
    let s = Server::start(mode, server_extra);
    let a = args(s.port, flags);
    let t = theirs(&a);
    let o = ours(&a);
    assert_eq!(
        (without_timing(&o.stdout), o.stderr.as_str(), o.code),
        (without_timing(&t.stdout), t.stderr.as_str(), t.code),
        "mode {mode} flags {flags:?}"
    );
}

#[test]
fn request_bytes_are_keepalived_s() {
    for flags in [
        &["-u", "/index.html"][..],
        &["-u", "/a?b=c", "-V", "www.example.com"],
        &["-u", "/", "-P", "1.1"],
        &["-u", "/", "-P", "1.0c", "-V", "h"],
        &["-u", "/", "-P", "1.0"],
        &["-u", "/x y"],
    ] {
        let s = Server::start("ok", &[]);
        let a = args(s.port, flags);
        let t = theirs(&a);
        let o = ours(&a);
        assert_eq!(s.request(1), s.request(2), "flags {flags:?}");
        assert_eq!((o.stdout, o.code), (t.stdout, t.code), "flags {flags:?}");
    }
    // IPv6 target.
    let s = Server::start("ok", &["--v6"]);
    let a: Vec<String> = ["-s", "::1", "-p", &s.port.to_string(), "-u", "/"]
        .iter()
        .map(|x| x.to_string())
        .collect();
    let (t, o) = (theirs(&a), ours(&a));
    assert_eq!(s.request(1), s.request(2));
    assert_eq!(o.stdout, t.stdout);
}

#[test]
fn answers_hash_like_keepalived() {
    for mode in [
        "ok", "s500", "cl5", "lowercl", "chunked", "nospace", "bighead", "nostatus",
    ] {
        same(mode, &[], &["-u", "/"]);
    }
}

#[test]
fn failures_print_keepalived_s_reason() {
    // Refused.
    let a = args(closed_port(), &["-u", "/"]);
    let (t, o) = (theirs(&a), ours(&a));
    assert_eq!((o.stdout, o.stderr, o.code), (t.stdout, t.stderr, t.code));
    same("silent", &[], &["-u", "/", "-t", "1"]);
    same("keepopen", &[], &["-u", "/", "-t", "1"]);
    same("rst", &[], &["-u", "/"]);
}

#[test]
fn verbose_dumps_match() {
    same("ok", &[], &["-u", "/", "-v"]);
    same("cl5", &[], &["-u", "/", "-v"]);
    same("bighead", &[], &["-u", "/", "-v"]);
}

#[test]
fn tls_with_and_without_sni() {
    let cert = self_signed("some.other.name");
    let (c, k) = (cert.cert.to_string_lossy(), cert.key.to_string_lossy());
    for flags in [
        &["-S", "-u", "/"][..],
        &["-S", "-u", "/", "-V", "vh.example"],
        &["-S", "-I", "-u", "/", "-V", "vh.example"],
        &["-S", "-I", "-u", "/"],
    ] {
        let s = Server::start("ok", &["--tls", &c, &k]);
        let a = args(s.port, flags);
        let t = theirs(&a);
        let o = ours(&a);
        assert_eq!((o.stdout, o.code), (t.stdout, t.code), "flags {flags:?}");
        assert_eq!(s.request(1), s.request(2), "flags {flags:?}");
        assert_eq!(s.sni(1), s.sni(2), "flags {flags:?}");
    }
    // A server that is not TLS.
    same("garbage", &[], &["-S", "-u", "/", "-t", "2"]);
    // TLS servers that say nothing, keep the connection open, reset it,
    // or send no head.
    for mode in ["silent", "keepopen", "rst", "nostatus", "bighead", "s500"] {
        same(mode, &["--tls", &c, &k], &["-S", "-u", "/", "-t", "1"]);
    }
}

#[test]
fn usage_errors() {
    for a in [
        &["-s", "localhost", "-p", "1", "-u", "/"][..],
        &["-s", "127.0.0.1", "-p", "0", "-u", "/"],
        &["-s", "127.0.0.1", "-p", "70000", "-u", "/"],
        &["-s", "127.0.0.1", "-p", "1", "-u", "/", "extra"],
        &["-x", "-s", "127.0.0.1"],
        &["-s", "127.0.0.1", "-p", "1", "-u"],
        &["-s", "127.0.0.1", "-p", "1"],
        &["-h", "-s", "127.0.0.1"],
        &["-s", "127.0.0.1", "-p", "1", "-u", "/", "-P", "2.0"],
        &["-s", "127.0.0.1", "-p", "1", "-u", "/", "-t", "x"],
        &["-s", "127.0.0.1", "-p", "1", "-u", "/", "-m", "-1"],
        &["-s"],
    ] {
        let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        let (t, o) = (theirs(&a), ours(&a));
        assert_eq!(
            (o.stdout, o.stderr, o.code),
            (t.stdout, t.stderr, t.code),
            "args {a:?}"
        );
    }
}

/// The checker's own request (HTTP_GET from a configuration) against the
/// bytes keepalived's genhash sends for the same settings.
#[test]
fn checker_request_bytes_equal_keepalived_s() {
    for (checker, flags) in [
        ("url { path /health }", &["-u", "/health"][..]),
        (
            "http_protocol 1.1\nvirtualhost www.example.com\nurl { path /h?x=1 }",
            &["-u", "/h?x=1", "-P", "1.1", "-V", "www.example.com"],
        ),
        (
            "http_protocol 1.0C\nurl { path /\n virtualhost u.example }",
            &["-u", "/", "-P", "1.0c", "-V", "u.example"],
        ),
    ] {
        let s = Server::start("ok", &[]);
        let spec = common::spec_from(&common::one_checker(
            "127.0.0.1",
            s.port,
            &format!("HTTP_GET {{\n{checker}\n}}"),
        ))
        .expect("spec");
        let r = runtime().block_on(keepalived_probe::run_url(&spec, 0));
        assert_eq!(r.verdict, keepalived_probe::Verdict::Success, "{r:?}");
        let _ = theirs(&args(s.port, flags));
        assert_eq!(s.request(1), s.request(2), "{checker}");
    }
}
