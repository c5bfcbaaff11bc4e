// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The adverts ours sends, as the wire sees them: tcpdump in the peer's
//! namespace of a [`VethPair`], with the kernel's receive stamps.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::VethPair;

/// Starts tcpdump on the peer's end (adverts only, stamps in seconds since
/// the epoch, into `adverts.txt` of the lab); returns once it listens.
pub fn start_capture(lab: &VethPair) -> Child {
    let out = fs::File::create(lab.path("adverts.txt")).expect("capture file");
    let err = fs::File::create(lab.path("tcpdump.err")).expect("capture log");
    let child = Command::new("ip")
        .args([
            "netns", "exec", &lab.peer, "tcpdump", "-i", "veth0", "-n", "-l",
        ])
        .args(["-tt", "--time-stamp-precision=nano", "ip proto 112"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start tcpdump");
    let until = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(lab.path("tcpdump.err")).is_ok_and(|e| e.contains("listening on")) {
        assert!(Instant::now() < until, "tcpdump did not start listening");
        sleep(Duration::from_millis(20));
    }
    child
}

/// The capture's stamps of `from`'s VRRPv3 adverts, in order.
pub fn stamps(lab: &VethPair, from: &str) -> Vec<f64> {
    let captured = fs::read_to_string(lab.path("adverts.txt")).expect("the capture");
    let what = format!("{from} > 224.0.0.18: VRRPv3");
    captured
        .lines()
        .filter(|l| l.contains(&what))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Now, on the capture's clock.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
}

/// The intervals between adverts whose both ends fall within
/// `from..=to` (epoch seconds), shortest first.
pub fn sorted_gaps(stamps: &[f64], from: f64, to: f64) -> Vec<Duration> {
    let inside: Vec<f64> = stamps
        .iter()
        .copied()
        .filter(|&t| t >= from && t <= to)
        .collect();
    let mut gaps: Vec<Duration> = inside
        .windows(2)
        .map(|p| Duration::from_secs_f64((p[1] - p[0]).max(0.0)))
        .collect();
    gaps.sort();
    gaps
}
