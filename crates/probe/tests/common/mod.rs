// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Shared test support: real servers on loopback and specs built from
//! keepalived.conf text through the real configuration reader.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keepalived_config::model::checker::Checker;
use keepalived_config::{Config, SystemHost, load_str};
use keepalived_probe::Spec;

/// A python server from tests/servers, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub capture: tempfile::TempDir,
}

impl Server {
    pub fn start(mode: &str, extra: &[&str]) -> Server {
        let capture = tempfile::tempdir().expect("tempdir");
        let portfile = capture.path().join("port");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/rawhttp.py");
        let child = Command::new("python3")
            .arg(&script)
            .arg(mode)
            .arg(&portfile)
            .arg(capture.path())
            .args(extra)
            .stdin(Stdio::null())
            .spawn()
            .expect("python3 must be installed to run the probe tests");
        let start = Instant::now();
        let port = loop {
            if let Ok(s) = std::fs::read_to_string(&portfile) {
                break s.trim().parse().expect("port");
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Server {
            child,
            port,
            capture,
        }
    }

    /// What connection `n` (from 1) sent.
    pub fn request(&self, n: usize) -> Vec<u8> {
        let p = self.capture.path().join(format!("{n}.req"));
        wait_for(&p);
        std::fs::read(p).expect("capture")
    }

    /// The client certificate's CN on TLS connection `n` ("" when none).
    pub fn peer(&self, n: usize) -> String {
        let p = self.capture.path().join(format!("{n}.peer"));
        wait_for(&p);
        std::fs::read_to_string(p).expect("capture")
    }

    /// The SNI of TLS connection `n` ("" when none).
    pub fn sni(&self, n: usize) -> String {
        let p = self.capture.path().join(format!("{n}.sni"));
        wait_for(&p);
        std::fs::read_to_string(p).expect("capture")
    }
}

fn wait_for(p: &Path) {
    let start = Instant::now();
    while !p.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never written",
            p.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate made with openssl for this test.
pub struct Cert {
    pub dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn self_signed(cn: &str) -> Cert {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        ])
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed to run the TLS tests");
    assert!(st.success(), "openssl req failed");
    Cert { dir, cert, key }
}

/// Parses `text` with the real reader and resolves the first checker of
/// the first real server of the first virtual server.
pub fn spec_from(text: &str) -> Result<Spec, String> {
    let (config, _) = config_from(text);
    let vs = &config.virtual_servers[0];
    let rs = &vs.real_servers[0];
    let checker: &Checker = &rs.checkers[0];
    Spec::from_config(&config, vs, rs, checker)
}

pub fn config_from(text: &str) -> (Config, String) {
    let loaded = load_str(
        Path::new("test.conf"),
        text,
        &keepalived_config::preprocess::Options::default(),
        &SystemHost,
    );
    let diags = format!("{:?}", loaded.diagnostics);
    (loaded.config, diags)
}

/// A virtual server around one real server with one checker block.
pub fn one_checker(rs_ip: &str, rs_port: u16, checker: &str) -> String {
    format!(
        "virtual_server 192.0.2.10 80 {{\n  delay_loop 3\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  real_server {rs_ip} {rs_port} {{\n{checker}\n  }}\n}}\n"
    )
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Open file descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
