// SPDX-License-Identifier: Apache-2.0 OR MIT
//! HTTP_GET and SSL_GET against real servers on loopback
//! (tests/servers/rawhttp.py answering with chosen raw bytes), specs built
//! from keepalived.conf text by the real configuration reader.

mod common;

use std::time::Duration;

use common::{Server, closed_port, one_checker, runtime, self_signed, spec_from};
use keepalived_probe::{Report, Spec, Verdict, run_url};

fn http_spec(port: u16, body: &str) -> Spec {
    spec_from(&one_checker(
        "127.0.0.1",
        port,
        &format!("HTTP_GET {{\n{body}\n}}"),
    ))
    .expect("spec")
}

fn probe(spec: &Spec, url: usize) -> Report {
    runtime().block_on(run_url(spec, url))
}

const MD5_HELLO_WORLD_NL: &str = "6f5902ac237024bdd0c176cb93063dc4";

#[test]
fn success_and_the_request_bytes() {
    let s = Server::start("ok", &[]);
    let spec = http_spec(
        s.port,
        "connect_timeout 2\nurl { path /index.html\n digest 6f5902ac237024bdd0c176cb93063dc4 }",
    );
    let r = probe(&spec, 0);
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
    assert_eq!(
        r.http.as_ref().and_then(|h| h.success).map(|s| s.text()),
        Some("MD5 digest")
    );
    assert_eq!(
        s.request(1),
        format!(
            "GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n",
            s.port
        )
        .as_bytes()
    );
    let _ = MD5_HELLO_WORLD_NL;
}

/// The reader stops early when the peer's FIN came before a read that
/// left room in the buffer (the next read would return 0): a pause
/// between head and body must not be taken for the end.
#[test]
fn an_answer_in_two_writes_is_read_to_the_end() {
    let s = Server::start("split", &[]);
    let spec = http_spec(
        s.port,
        &format!("connect_timeout 2\nurl {{ path /\n digest {MD5_HELLO_WORLD_NL} }}"),
    );
    let r = probe(&spec, 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Success, "success"),
        "{r:?}"
    );
}

#[test]
fn host_header_follows_the_virtualhost_order() {
    let s = Server::start("ok", &[]);
    let text = format!(
        "virtual_server 192.0.2.10 80 {{\n  virtualhost vs.example\n  protocol TCP\n  real_server 127.0.0.1 {} {{\n    virtualhost rs.example\n    HTTP_GET {{\n      http_protocol 1.1\n      url {{ path /a }}\n      url {{ path /b\n virtualhost url.example }}\n    }}\n  }}\n}}\n",
        s.port
    );
    let spec = spec_from(&text).expect("spec");
    assert_eq!(probe(&spec, 0).verdict, Verdict::Success);
    assert_eq!(probe(&spec, 1).verdict, Verdict::Success);
    assert_eq!(
        s.request(1),
        b"GET /a HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: rs.example\r\n\r\n"
    );
    assert_eq!(
        s.request(2),
        b"GET /b HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: url.example\r\n\r\n"
    );
}

#[test]
fn status_codes_lists_and_ranges() {
    let s = Server::start("s500", &[]);
    let r = probe(&http_spec(s.port, "url { path / }"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "HTTP status code error to")
    );
    assert_eq!(r.http.and_then(|h| h.status), Some(500));
    let r = probe(
        &http_spec(s.port, "url { path /\n status_code 200 404 500-503 }"),
        0,
    );
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
}

#[test]
fn status_line_without_space_after_the_code_fails() {
    let s = Server::start("nospace", &[]);
    let r = probe(&http_spec(s.port, "url { path / }"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "HTTP status code error to")
    );
}

#[test]
fn head_longer_than_4095_bytes_is_no_data() {
    let s = Server::start("bighead", &[]);
    let r = probe(&http_spec(s.port, "url { path / }"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Read, no data received from ")
    );
}

#[test]
fn no_status_line_is_no_data() {
    let s = Server::start("nostatus", &[]);
    let r = probe(&http_spec(s.port, "url { path / }"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Read, no data received from ")
    );
}

#[test]
fn digest_cap_follows_case_sensitive_content_length() {
    // "hello" with Content-Length: 5; the whole "hello world" with a
    // lowercase header (ignored).
    let s = Server::start("cl5", &[]);
    let hello = "5d41402abc4b2a76b9719d911017c592";
    let r = probe(
        &http_spec(s.port, &format!("url {{ path /\n digest {hello} }}")),
        0,
    );
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
    assert_eq!(r.http.and_then(|h| h.length_mismatch), Some((5, 11)));
    let s = Server::start("lowercl", &[]);
    let hello_world = "5eb63bbbe01eeed093cb22bb8f5acdc3";
    let r = probe(
        &http_spec(s.port, &format!("url {{ path /\n digest {hello_world} }}")),
        0,
    );
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
    let r = probe(
        &http_spec(s.port, &format!("url {{ path /\n digest {hello} }}")),
        0,
    );
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "MD5 digest error to")
    );
}

#[test]
fn regex_over_head_and_body_across_reads() {
    let s = Server::start("regex", &[]);
    let ok = |body: &str| probe(&http_spec(s.port, body), 0);
    assert_eq!(
        ok("url { path /\n regex \"X-App: alpha\" }").verdict,
        Verdict::Success
    );
    assert_eq!(
        ok("url { path /\n regex NEEDLE }").verdict,
        Verdict::Success
    );
    let r = ok("url { path /\n regex NEEDLE\n regex_no_match }");
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Regex match failed")
    );
    assert_eq!(
        ok("url { path /\n regex NEEDLE\n regex_max_offset 100 }").verdict,
        Verdict::Failure
    );
    assert_eq!(
        ok("url { path /\n regex absent }").verdict,
        Verdict::Failure
    );
    assert!(
        spec_from(&one_checker(
            "127.0.0.1",
            s.port,
            "HTTP_GET {\nurl { path /\n regex \"(a)\\\\1\" }\n}"
        ))
        .is_err()
    );
}

#[test]
fn connection_refused_fails() {
    let r = probe(&http_spec(closed_port(), "url { path / }"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Connection failed")
    );
}

#[test]
fn reset_mid_answer_is_a_read_error() {
    let s = Server::start("rst", &[]);
    let r = probe(&http_spec(s.port, "url { path / }"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Read error with"),
        "{r:?}"
    );
}

#[test]
fn each_step_is_bounded_by_connect_timeout() {
    // Nothing answers: the first read times out.
    let s = Server::start("silent", &[]);
    let r = probe(&http_spec(s.port, "connect_timeout 1\nurl { path / }"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Timeout WEB read")
    );
    assert!(
        r.elapsed >= Duration::from_millis(950) && r.elapsed < Duration::from_secs(3),
        "{r:?}"
    );
    // A full answer but no close: keepalived reads until the close.
    let s = Server::start("keepopen", &[]);
    let r = probe(&http_spec(s.port, "connect_timeout 1\nurl { path / }"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Timeout HTTP read")
    );
    assert!(r.elapsed < Duration::from_secs(3), "{r:?}");
}

#[test]
fn trickling_server_is_cut_at_the_answer_budget() {
    // One byte a second never trips the 2 s read timeout; the whole
    // answer is bounded by max(connect_timeout, delay_loop) = 3 s.
    let s = Server::start("trickle", &[]);
    let r = probe(
        &http_spec(s.port, "connect_timeout 2\ndelay_loop 3\nurl { path / }"),
        0,
    );
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Timeout HTTP read")
    );
    assert!(
        r.elapsed >= Duration::from_millis(2900) && r.elapsed < Duration::from_secs(5),
        "{r:?}"
    );
}

#[test]
fn endless_body_is_hashed_in_bounded_memory_and_cut_at_the_budget() {
    let s = Server::start("endless", &[]);
    let spec = http_spec(
        s.port,
        "connect_timeout 1\ndelay_loop 2\nurl { path /\n digest 5d41402abc4b2a76b9719d911017c592\n regex never-there }",
    );
    let before = rss_kib();
    let r = probe(&spec, 0);
    let after = rss_kib();
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "Timeout HTTP read")
    );
    // Hundreds of MB went through; memory grew by far less.
    assert!(
        after.saturating_sub(before) < 20_000,
        "RSS grew from {before} to {after} KiB"
    );
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn ipv6_target_and_host_header() {
    let s = Server::start("ok", &["--v6"]);
    let spec = spec_from(&format!(
        "virtual_server 2001:db8::10 80 {{\n  protocol TCP\n  real_server ::1 {} {{\n    HTTP_GET {{\n url {{ path / }}\n }}\n  }}\n}}\n",
        s.port
    ))
    .expect("spec");
    assert_eq!(probe(&spec, 0).verdict, Verdict::Success);
    assert_eq!(
        s.request(1),
        format!(
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1]:{}\r\n\r\n",
            s.port
        )
        .as_bytes()
    );
}

// ----- SSL_GET -----

fn ssl_spec(text: &str) -> Result<Spec, String> {
    spec_from(text)
}

fn ssl_conf(port: u16, checker_extra: &str, url_extra: &str, root: &str) -> String {
    format!(
        "{root}\nvirtual_server 192.0.2.10 443 {{\n  virtualhost vs.example\n  protocol TCP\n  real_server 127.0.0.1 {port} {{\n    virtualhost rs.example\n    SSL_GET {{\n connect_timeout 3\n {checker_extra}\n url {{ path /\n {url_extra} }}\n }}\n  }}\n}}\n"
    )
}

#[test]
fn ssl_get_accepts_any_certificate_and_sni_follows_enable_sni() {
    let cert = self_signed("wrong.name.invalid");
    let (c, k) = (cert.cert.to_string_lossy(), cert.key.to_string_lossy());
    let s = Server::start("ok", &["--tls", &c, &k]);
    // No enable_sni: no SNI, Host from the real server.
    let spec = ssl_spec(&ssl_conf(s.port, "", "", "")).expect("spec");
    let r = probe(&spec, 0);
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
    assert_eq!(s.sni(1), "");
    assert_eq!(
        s.request(1),
        b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: rs.example\r\n\r\n"
    );
    // enable_sni: the virtual server's name, never the real server's.
    let spec = ssl_spec(&ssl_conf(s.port, "enable_sni", "", "")).expect("spec");
    assert_eq!(probe(&spec, 0).verdict, Verdict::Success);
    assert_eq!(s.sni(2), "vs.example");
    // The url's name first.
    let spec = ssl_spec(&ssl_conf(
        s.port,
        "enable_sni",
        "virtualhost url.example",
        "",
    ))
    .expect("spec");
    assert_eq!(probe(&spec, 0).verdict, Verdict::Success);
    assert_eq!(s.sni(3), "url.example");
}

#[test]
fn ssl_get_against_a_garbage_handshake_is_a_handshake_error() {
    let s = Server::start("garbage", &[]);
    let spec = ssl_spec(&ssl_conf(s.port, "", "", "")).expect("spec");
    let r = probe(&spec, 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (
            Verdict::Failure,
            "SSL handshake/communication error connecting to"
        ),
        "{r:?}"
    );
}

#[test]
fn ssl_get_status_and_digest() {
    let cert = self_signed("localhost");
    let (c, k) = (cert.cert.to_string_lossy(), cert.key.to_string_lossy());
    let s = Server::start("s500", &["--tls", &c, &k]);
    let r = probe(&ssl_spec(&ssl_conf(s.port, "", "", "")).expect("spec"), 0);
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "HTTP status code error to")
    );
    let s = Server::start("ok", &["--tls", &c, &k]);
    let r = probe(
        &ssl_spec(&ssl_conf(
            s.port,
            "",
            &format!("digest {MD5_HELLO_WORLD_NL}"),
            "",
        ))
        .expect("spec"),
        0,
    );
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
}

#[test]
fn ssl_block_client_certificate_and_encrypted_key() {
    let cert = self_signed("client");
    let (c, k) = (cert.cert.to_string_lossy(), cert.key.to_string_lossy());
    // The server trusts the client's self-signed certificate and records
    // the CN it was shown.
    let s = Server::start("ok", &["--tls", &c, &k, "--client-ca", &c]);
    let root = format!("SSL {{\n certificate {c}\n key {k}\n}}");
    let spec = ssl_spec(&ssl_conf(s.port, "", "", &root)).expect("client certificate loads");
    assert_eq!(probe(&spec, 0).verdict, Verdict::Success);
    assert_eq!(s.peer(1), "client");
    // Without the SSL block: no client certificate.
    let spec = ssl_spec(&ssl_conf(s.port, "", "", "")).expect("spec");
    assert_eq!(probe(&spec, 0).verdict, Verdict::Success);
    assert_eq!(s.peer(2), "");
    // An encrypted key: a clear error at configuration time.
    let enc = cert.dir.path().join("enc.pem");
    let st = std::process::Command::new("openssl")
        .args(["pkey", "-aes256", "-passout", "pass:secret", "-in"])
        .arg(&cert.key)
        .arg("-out")
        .arg(&enc)
        .status()
        .expect("openssl");
    assert!(st.success());
    let root = format!(
        "SSL {{\n password secret\n certificate {c}\n key {}\n}}",
        enc.display()
    );
    let err = ssl_spec(&ssl_conf(s.port, "", "", &root)).expect_err("encrypted key refused");
    assert!(err.contains("encrypted"), "{err}");
}

#[test]
fn checkers_not_built_yet_are_refused_with_a_reason() {
    // FILE_CHECK and BFD_CHECK are no probes: they follow a file or a
    // BFD session, which this crate does not do.
    let text = format!(
        "track_file tf {{\n file /tmp/probe2-tf\n}}\n{}",
        one_checker("127.0.0.1", 53, "FILE_CHECK {\n track_file tf\n}")
    );
    let err = spec_from(&text).expect_err("FILE_CHECK is no probe");
    assert!(err.contains("FILE_CHECK"), "{err}");
}

#[test]
fn identity_follows_keepalived_s_compare_and_sharing_is_stricter() {
    let k = |checker: &str| {
        spec_from(&one_checker(
            "127.0.0.1",
            80,
            &format!("HTTP_GET {{\n{checker}\n}}"),
        ))
        .expect("spec")
    };
    let base = k("url { path /a }");
    // Timers, http_protocol and fast_recovery are not part of identity.
    let same = k("delay_loop 9\nretry 4\nhttp_protocol 1.1\nfast_recovery\nurl { path /a }");
    assert_eq!(base.key(), same.key());
    // ...but http_protocol changes the bytes sent: not shareable.
    assert_ne!(base.share_key(), same.share_key());
    assert_eq!(
        base.share_key(),
        k("delay_loop 9\nurl { path /a }").share_key()
    );
    for other in [
        "url { path /b }",
        "url { path /a }\nurl { path /b }",
        "url { path /a\n status_code 200 }",
        "url { path /a\n digest 5d41402abc4b2a76b9719d911017c592 }",
        "url { path /a\n virtualhost x }",
        "virtualhost x\nurl { path /a }",
        "url { path /a\n regex x }",
        "connect_timeout 2\nurl { path /a }",
        "connect_port 81\nurl { path /a }",
    ] {
        assert_ne!(base.key(), k(other).key(), "{other}");
    }
    // SSL_GET is another kind.
    let ssl = spec_from(&one_checker(
        "127.0.0.1",
        80,
        "SSL_GET {\nurl { path /a }\n}",
    ))
    .expect("spec");
    assert_ne!(base.key(), ssl.key());
}

#[test]
fn link_local_target_needs_bind_if() {
    let conf = |extra: &str| {
        format!(
            "virtual_server 2001:db8::10 80 {{\n protocol TCP\n real_server fe80::1 80 {{\n HTTP_GET {{\n{extra}\nurl {{ path / }}\n }}\n }}\n}}\n"
        )
    };
    // The reader already drops such a checker, with keepalived's message;
    // the spec refuses it too, should a caller build one by hand.
    let (config, diags) = common::config_from(&conf(""));
    assert!(diags.contains("has no bind_if"), "{diags}");
    let vs = &config.virtual_servers[0];
    let mut rs = vs.real_servers[0].clone();
    let (with_if, _) = common::config_from(&conf("bind_if lo"));
    rs.checkers = with_if.virtual_servers[0].real_servers[0].checkers.clone();
    if let Some(keepalived_config::model::checker::Checker::HttpGet(h)) = rs.checkers.first_mut() {
        h.common.bind_if = None;
    }
    let err = keepalived_probe::Spec::from_config(&config, vs, &rs, &rs.checkers[0])
        .expect_err("needs bind_if");
    assert!(err.contains("requires a bind_if"), "{err}");
    assert!(spec_from(&conf("bind_if lo")).is_ok());
}
