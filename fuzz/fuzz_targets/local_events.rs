// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the VRRP child reads about the box it runs on, on arbitrary
//! bytes: proc connector datagrams (vrrp_track_process), `/proc/PID/stat`
//! (any process may name itself anything), a track_file's content (anyone
//! who may write the file), and a process's command line matched against
//! a `vrrp_track_process`. The first byte picks which. Nothing may panic,
//! and each answer must agree with the input it claims to have read.
#![no_main]

#[path = "../../crates/sys/src/proc_wire.rs"]
#[allow(dead_code)]
mod proc_wire;

use std::time::Duration;

use keepalived_vrrp::node::process::{ParamMatch, ProcessParams};
use keepalived_vrrp::node::track::parse_file_value;
use libfuzzer_sys::fuzz_target;
use proc_wire::{ProcEvent, decode, parse_stat};

fn proc_datagram(data: &[u8]) {
    for ev in decode(data) {
        if let ProcEvent::Comm { comm, .. } = ev {
            // At most the kernel's 16 bytes, each at most one U+FFFD.
            assert!(comm.chars().count() <= 16, "{comm:?}");
            assert!(!comm.contains('\0'));
        }
    }
}

fn stat(data: &[u8]) {
    if let Some((comm, state)) = parse_stat(data) {
        let close = data.iter().rposition(|b| *b == b')').expect("a ')' was read");
        assert_eq!(data.get(close + 2), Some(&state));
        let open = data.iter().position(|b| *b == b'(').expect("a '(' was read");
        assert_eq!(comm, String::from_utf8_lossy(&data[open + 1..close]));
    }
}

fn track_file(data: &[u8]) {
    if let Some(v) = parse_file_value(data) {
        assert!(
            (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1).contains(&v),
            "{v} from {data:?}"
        );
    }
    // Only the first 127 bytes count, as keepalived reads them.
    if data.len() > 127 {
        assert_eq!(parse_file_value(data), parse_file_value(&data[..127]));
    }
}

fn process(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    // "path\0param\0param...\n cmdline": the configuration before the
    // first newline, the process's command line after it.
    let (conf, cmdline) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut words = conf.split(|b| *b == 0).map(|w| String::from_utf8_lossy(w).into_owned());
    let path = words.next().unwrap_or_default();
    let params: Vec<String> = words.collect();
    let param_match = match sel % 4 {
        0 => ParamMatch::None,
        1 => ParamMatch::Exact,
        2 => ParamMatch::Partial,
        _ => ParamMatch::Initial,
    };
    let p = ProcessParams {
        name: "fuzz".into(),
        path: path.clone(),
        params: params.clone(),
        param_match,
        full_command: sel & 4 != 0,
        quorum: 1,
        quorum_max: u32::MAX,
        fork_delay: Duration::ZERO,
        terminate_delay: Duration::ZERO,
    };
    let comm = String::from_utf8_lossy(&cmdline[..cmdline.len().min(15)]).into_owned();
    let got = p.matches(&comm, cmdline);
    if !p.full_command {
        assert_eq!(got, comm == path);
        return;
    }
    // A process whose command line is exactly what is configured matches
    // whatever the comparison (a NUL inside a word cannot be configured).
    if !path.contains('\0') && params.iter().all(|w| !w.contains('\0')) {
        let mut own = path.clone().into_bytes();
        for w in &params {
            own.push(0);
            own.extend_from_slice(w.as_bytes());
        }
        own.push(0);
        assert!(p.matches(&comm, &own), "{p:?} does not match its own command line");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => proc_datagram(rest),
        1 => stat(rest),
        2 => track_file(rest),
        _ => process(rest),
    }
});
