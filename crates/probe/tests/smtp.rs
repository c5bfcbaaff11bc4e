// SPDX-License-Identifier: Apache-2.0 OR MIT
//! SMTP_CHECK against python SMTP-ish listeners on loopback.

mod common;

use std::time::{Duration, Instant};

use common::{Server, closed_port, config_from, one_checker, runtime, spec_from};
use keepalived_probe::{Kind, Report, Spec, Verdict, run};

fn smtp(port: u16, body: &str) -> Spec {
    spec_from(&one_checker(
        "127.0.0.1",
        port,
        &format!("SMTP_CHECK {{\n{body}\n}}"),
    ))
    .expect("spec")
}

fn probe(spec: &Spec) -> Report {
    runtime().block_on(run(spec))
}

fn outcome(r: &Report) -> (Verdict, String) {
    (r.verdict, r.detail.clone())
}

#[test]
fn good_dialog_with_the_default_helo() {
    let s = Server::start_script("smtp.py", "good", &[]);
    let r = probe(&smtp(s.port, "connect_timeout 2"));
    assert_eq!(outcome(&r), (Verdict::Success, "success".into()), "{r:?}");
    assert_eq!(
        s.request(1),
        b"HELO smtpchecker.keepalived.org\r\nQUIT\r\n".to_vec()
    );
}

#[test]
fn helo_name_and_a_banner_in_pieces() {
    let s = Server::start_script("smtp.py", "split", &[]);
    let r = probe(&smtp(s.port, "helo_name lb1.example.test"));
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
    assert_eq!(s.request(1), b"HELO lb1.example.test\r\nQUIT\r\n".to_vec());
}

#[test]
fn greetings_keepalived_refuses() {
    for mode in ["multiline", "bare220", "badbanner"] {
        let s = Server::start_script("smtp.py", mode, &[]);
        let r = probe(&smtp(s.port, ""));
        assert_eq!(
            outcome(&r),
            (
                Verdict::Failure,
                format!("Bad greeting banner from server [127.0.0.1]:{}", s.port)
            ),
            "{mode}"
        );
    }
}

#[test]
fn helo_refused() {
    let s = Server::start_script("smtp.py", "helo5xx", &[]);
    let r = probe(&smtp(s.port, ""));
    assert_eq!(
        outcome(&r),
        (
            Verdict::Failure,
            format!("Bad HELO response from server [127.0.0.1]:{}", s.port)
        )
    );
}

#[test]
fn silence_is_a_read_timeout_and_a_close_a_read_failure() {
    let s = Server::start_script("smtp.py", "silent", &[]);
    let start = Instant::now();
    let r = probe(&smtp(s.port, "connect_timeout 0.5"));
    assert_eq!(
        outcome(&r),
        (
            Verdict::Failure,
            format!("Read timeout from server [127.0.0.1]:{}", s.port)
        )
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(490) && took < Duration::from_millis(900),
        "{took:?}"
    );
    let s = Server::start_script("smtp.py", "noquit", &[]);
    let r = probe(&smtp(s.port, "connect_timeout 2"));
    assert_eq!(
        outcome(&r),
        (
            Verdict::Failure,
            format!("Read failure from server [127.0.0.1]:{}", s.port)
        )
    );
}

#[test]
fn refused_connection() {
    let port = closed_port();
    let r = probe(&smtp(port, ""));
    assert_eq!(
        outcome(&r),
        (
            Verdict::Failure,
            format!("Could not connect to server [127.0.0.1]:{port}")
        ),
        "{r:?}"
    );
}

#[test]
fn bind_failure_is_a_local_error() {
    let r = probe(&smtp(25, "bindto 192.0.2.1"));
    assert_eq!(
        outcome(&r),
        (
            Verdict::LocalError,
            "SMTP_CHECK socket bind failed. Rescheduling.".into()
        )
    );
}

fn all(text: &str) -> Vec<Spec> {
    let (config, diags) = config_from(text);
    let vs = &config.virtual_servers[0];
    let rs = &vs.real_servers[0];
    Spec::from_config_all(&config, vs, rs, &rs.checkers[0])
        .unwrap_or_else(|e| panic!("{e} {diags}"))
}

#[test]
fn host_blocks_become_checkers_of_their_own() {
    let good = Server::start_script("smtp.py", "good", &[]);
    let bad = Server::start_script("smtp.py", "badbanner", &[]);
    // Hosts only: the first host replaces the block's own connection.
    let specs = all(&one_checker(
        "127.0.0.1",
        25,
        &format!(
            "SMTP_CHECK {{\n helo_name h.example.test\n retry 4\n host {{\n connect_port {}\n }}\n host {{\n connect_ip 127.0.0.1\n connect_port {}\n connect_timeout 1.5\n }}\n}}",
            good.port, bad.port
        ),
    ));
    assert_eq!(specs.len(), 2);
    assert_eq!(specs[0].target.port(), good.port);
    assert_eq!(specs[1].target.port(), bad.port);
    // A host's connect_timeout is its own, else the real/virtual server's.
    assert_eq!(specs[0].conn.connect_timeout, Duration::from_secs(5));
    assert_eq!(specs[1].conn.connect_timeout, Duration::from_millis(1500));
    for s in &specs {
        let Kind::Smtp(m) = &s.kind else {
            panic!("{s:?}")
        };
        assert_eq!(m.helo_name, "h.example.test");
    }
    assert_eq!(probe(&specs[0]).verdict, Verdict::Success);
    assert_eq!(probe(&specs[1]).verdict, Verdict::Failure);
    assert_ne!(specs[0].key(), specs[1].key());
    // from_config gives the first.
    let first = spec_from(&one_checker(
        "127.0.0.1",
        25,
        &format!(
            "SMTP_CHECK {{\n host {{\n connect_port {}\n }}\n host {{\n connect_port 26\n }}\n}}",
            good.port
        ),
    ))
    .expect("spec");
    assert_eq!(first.target.port(), good.port);

    // A connection keyword on the block keeps its own connection first.
    let specs = all(&one_checker(
        "127.0.0.1",
        25,
        "SMTP_CHECK {\n connect_timeout 3\n host {\n connect_port 2525\n }\n}",
    ));
    let ports: Vec<u16> = specs.iter().map(|s| s.target.port()).collect();
    assert_eq!(ports, [25, 2525]);
    assert_eq!(specs[0].conn.connect_timeout, Duration::from_secs(3));
    assert_eq!(specs[1].conn.connect_timeout, Duration::from_secs(5));
}

#[test]
fn identity_is_options_and_helo_name() {
    let base = smtp(25, "helo_name a.example.test");
    assert_eq!(
        base.key(),
        smtp(25, "helo_name a.example.test\nretry 5\ndelay_loop 7").key()
    );
    for other in [
        "helo_name b.example.test",
        "",
        "helo_name a.example.test\nconnect_port 587",
        "helo_name a.example.test\nconnect_timeout 1",
    ] {
        assert_ne!(base.key(), smtp(25, other).key(), "{other}");
    }
    assert_eq!(base.key().kind, "SMTP_CHECK");
}
