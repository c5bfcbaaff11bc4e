// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The bridge between the health pool and the probes: each checker of the
//! configuration becomes a probe spec (keepalived-probe), named by its
//! reload identity (the spec's `SpecKey`) and its share key (`ShareKey`);
//! a probe's report becomes the machine's outcome.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use keepalived_check::book::{Identified, Identify, Identity};
use keepalived_check::machine::Outcome;
use keepalived_config::Config;
use keepalived_config::model::checker::Checker;
use keepalived_config::model::lvs::{RealServer, VirtualServer};
use keepalived_probe::{Report, ScriptEnd, Spec, Verdict};

/// Builds the specs of one configuration.
#[derive(Default)]
pub struct ProbeIdentify {
    /// Share key -> the spec every checker with that key runs.
    pub specs: HashMap<Identity, Arc<Spec>>,
}

impl Identify for ProbeIdentify {
    fn identify(
        &mut self,
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Identified, String> {
        // The probes of the other kinds exist (crates/probe), but their
        // rescheduling rules and log lines are not in the machine yet, and
        // no run has been compared with keepalived's: until then they are
        // left out, and -t / the start log say so (unsupported.rs).
        if !matches!(
            checker,
            Checker::TcpCheck(_) | Checker::HttpGet(_) | Checker::SslGet(_) | Checker::MiscCheck(_)
        ) {
            return Err(format!(
                "{} is not run by keepalived-rs's checker yet",
                checker.kind()
            ));
        }
        let spec = Spec::from_config(config, vs, rs, checker)?;
        let name = |v: Result<String, serde_json::Error>| {
            v.map(|text| Identity::of(&text)).map_err(|e| e.to_string())
        };
        let identity = name(serde_json::to_string(&spec.key()))?;
        let share = name(serde_json::to_string(&spec.share_key()))?;
        self.specs.entry(share).or_insert_with(|| Arc::new(spec));
        Ok(Identified { identity, share })
    }
}

pub fn outcome(v: Verdict) -> Outcome {
    match v {
        Verdict::Success => Outcome::Success,
        Verdict::Failure => Outcome::Failure,
        Verdict::LocalError => Outcome::LocalError,
        Verdict::SuccessWithWeight(w) => Outcome::SuccessWithWeight(w),
    }
}

/// The probe's words for the pool's log lines: keepalived's word, and for
/// a script keepalived's reason in parentheses.
/// Borrowed unless a script's reason is added (every probe's result goes
/// through here).
pub fn detail(r: &Report) -> Cow<'_, str> {
    match r.script {
        Some(ScriptEnd::Exited(code)) if code != 0 => {
            Cow::Owned(format!("{} (exited with status {code})", r.detail))
        }
        Some(ScriptEnd::Signaled(sig)) => Cow::Owned(format!("{} (due to signal {sig})", r.detail)),
        _ => Cow::Borrowed(&r.detail),
    }
}

/// keepalived's `1 s + uniform(0, warmup)` first-run spread: the uniform
/// part, from a small xorshift generator seeded from the clock and pid (no
/// cryptographic need, only spread).
pub struct Jitter(u64);

impl Jitter {
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Jitter((nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1)
    }

    pub fn draw(&mut self, warmup: Duration) -> Duration {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let us = u64::try_from(warmup.as_micros()).unwrap_or(u64::MAX);
        if us == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(x.wrapping_mul(0x2545_F491_4F6C_DD1D) % (us + 1))
    }
}
