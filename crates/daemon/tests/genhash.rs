// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The genhash entry points of the binary (`keepalived-rs -T`,
//! `--genhash`, and the binary invoked as `genhash`) next to keepalived
//! 2.2.7's real `genhash`: same stdout, stderr and exit code. The genhash
//! logic itself is tested in crates/probe/tests/genhash.rs.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// Answers every connection with one fixed HTTP answer.
fn server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
        }
    });
    port
}

fn genhash_link() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("tmp");
    let link = d.path().join("genhash");
    std::os::unix::fs::symlink(BIN, &link).expect("symlink");
    (d, link)
}

fn norm(o: &Output) -> (String, String, Option<i32>) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

fn real(args: &[&str]) -> Output {
    Command::new("genhash")
        .args(args)
        .output()
        .expect("keepalived's genhash must be installed")
}

#[test]
fn invoked_as_genhash_matches_keepalived() {
    let port = server().to_string();
    let (d, _link) = genhash_link();
    // Found through PATH, so argv[0] is `genhash` for both.
    let path = format!(
        "{}:{}",
        d.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for args in [
        &["-s", "127.0.0.1", "-p", &port, "-u", "/"][..],
        &["-s", "localhost", "-p", &port, "-u", "/"],
        &["-s", "127.0.0.1"],
        &[],
    ] {
        let ours = Command::new("genhash")
            .env("PATH", &path)
            .args(args)
            .output()
            .expect("run");
        let theirs = real(args);
        assert_eq!(norm(&ours), norm(&theirs), "args {args:?}");
    }
    // And it really was ours that ran: keepalived prints garbage for a
    // long option without its value, we name it.
    let ours = Command::new("genhash")
        .env("PATH", &path)
        .args(["-s", "127.0.0.1", "-p", "1", "--url"])
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&ours.stderr).starts_with("Missing parameter for option --url\n"),
        "{:?}",
        norm(&ours)
    );
}

#[test]
fn dash_t_and_long_form_switch_to_genhash() {
    let port = server().to_string();
    let theirs = real(&["-s", "127.0.0.1", "-p", &port, "-u", "/"]);
    for flag in ["-T", "--genhash"] {
        let ours = Command::new(BIN)
            .args([flag, "-s", "127.0.0.1", "-p", &port, "-u", "/"])
            .output()
            .expect("run");
        assert_eq!(norm(&ours), norm(&theirs), "{flag}");
    }
    // Usage names the program and `--genhash`, as keepalived -T does.
    let ours = Command::new(BIN).args(["-T"]).output().expect("run");
    assert_eq!(ours.status.code(), Some(1));
    let text = String::from_utf8_lossy(&ours.stderr);
    assert!(
        text.starts_with(&format!("Usage: {BIN} --genhash COMMAND [OPTIONS]")),
        "{text}"
    );
    let theirs = Command::new("keepalived")
        .arg("-T")
        .output()
        .expect("keepalived");
    assert_eq!(
        String::from_utf8_lossy(&theirs.stderr).replacen("keepalived", BIN, 1),
        text
    );
}
