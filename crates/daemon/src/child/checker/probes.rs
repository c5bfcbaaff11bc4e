// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The bridge between the health pool and the probes: each checker of the
//! configuration becomes a probe spec (keepalived-probe), named by its
//! reload identity (the spec's `SpecKey`) and its share key (`ShareKey`);
//! a probe's report becomes the machine's outcome. FILE_CHECK has no
//! probe: it follows its track file (read here, watched by the actor);
//! BFD_CHECK is refused (no BFD process).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use keepalived_check::book::{Identified, Identify, Identity};
use keepalived_check::machine::Outcome;
use keepalived_config::Config;
use keepalived_config::model::checker::{Checker, FileCheck};
use keepalived_config::model::lvs::{RealServer, VirtualServer};
use keepalived_probe::{Report, ScriptEnd, Spec, Verdict};

use crate::child::track_files;

/// Builds the specs of one configuration.
#[derive(Default)]
pub struct ProbeIdentify {
    /// Share key -> the spec every checker with that key runs.
    pub specs: HashMap<Identity, Arc<Spec>>,
    /// FILE_CHECK's track files by name: where to read them.
    pub files: HashMap<String, PathBuf>,
}

impl ProbeIdentify {
    fn name(spec: Spec, specs: &mut HashMap<Identity, Arc<Spec>>) -> Result<Identified, String> {
        let name = |v: Result<String, serde_json::Error>| {
            v.map(|text| Identity::of(&text)).map_err(|e| e.to_string())
        };
        let identity = name(serde_json::to_string(&spec.key()))?;
        let share = name(serde_json::to_string(&spec.share_key()))?;
        specs.entry(share).or_insert_with(|| Arc::new(spec));
        Ok(Identified { identity, share })
    }

    /// FILE_CHECK runs no probe: it is named by what it follows (a reload
    /// reads it anew whatever its name).
    fn file(
        &mut self,
        config: &Config,
        rs: &RealServer,
        f: &FileCheck,
    ) -> Result<Identified, String> {
        let Some(path) = config
            .track_files
            .iter()
            .find(|t| t.name == f.track_file)
            .and_then(|t| t.file.as_deref())
        else {
            return Err(format!("track_file {} has no file", f.track_file));
        };
        self.files.insert(f.track_file.clone(), PathBuf::from(path));
        let identity = Identity::of(&format!(
            "FILE_CHECK:{}:{}:{:?}:{}:{}",
            f.track_file,
            rs.ip,
            rs.port,
            f.weight.map_or("-".to_string(), |w| w.to_string()),
            f.reverse
        ));
        Ok(Identified {
            identity,
            share: identity,
        })
    }
}

impl Identify for ProbeIdentify {
    fn identify(
        &mut self,
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Identified, String> {
        match checker {
            Checker::FileCheck(f) => self.file(config, rs, f),
            Checker::BfdCheck(_) => Err("keepalived-rs runs no BFD process".into()),
            _ => Self::name(Spec::from_config(config, vs, rs, checker)?, &mut self.specs),
        }
    }

    /// SMTP_CHECK's deprecated `host { }` blocks are checkers of their
    /// own. BFD_CHECK stands for none: keepalived-rs runs no BFD process,
    /// so no session would ever report; -t and the start log name it once
    /// (unsupported.rs), and its real server counts its other checkers.
    fn identify_all(
        &mut self,
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Vec<Identified>, String> {
        match checker {
            Checker::SmtpCheck(_) => Spec::from_config_all(config, vs, rs, checker)?
                .into_iter()
                .map(|spec| Self::name(spec, &mut self.specs))
                .collect(),
            Checker::BfdCheck(_) => Ok(Vec::new()),
            _ => self.identify(config, vs, rs, checker).map(|i| vec![i]),
        }
    }

    /// Out of range (logged) reads as keepalived's starting value, 0.
    fn file_value(&mut self, name: &str) -> i64 {
        self.files
            .get(name)
            .and_then(|p| track_files::read_value(p))
            .unwrap_or(0)
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
pub fn detail(r: &Report) -> String {
    match r.script {
        Some(ScriptEnd::Exited(code)) if code != 0 => {
            format!("{} (exited with status {code})", r.detail)
        }
        Some(ScriptEnd::Signaled(sig)) => format!("{} (due to signal {sig})", r.detail),
        _ => r.detail.clone(),
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
