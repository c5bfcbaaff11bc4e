// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The bridge between the health pool and the probes: each checker of the
//! configuration becomes a probe spec (keepalived-probe), named by its
//! reload identity (the spec's `SpecKey`) and its share key (`ShareKey`);
//! a probe's report becomes the machine's outcome. FILE_CHECK has no
//! probe: it follows its track file (read here, watched by the actor);
//! BFD_CHECK is refused (no BFD process).

use std::borrow::Cow;
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

/// Share key -> the spec every checker with that key runs, as the actor
/// keeps it: sorted by key, 32 bytes a spec where the map it was built in
/// held about 43 (a table kept under seven-eighths full), with 100 000
/// specs in a big pool.
#[derive(Default)]
pub struct Specs(Box<[(Identity, Arc<Spec>)]>);

impl Specs {
    pub fn get(&self, share: &Identity) -> Option<&Arc<Spec>> {
        let at = self.0.binary_search_by(|(k, _)| k.cmp(share)).ok()?;
        self.0.get(at).map(|(_, spec)| spec)
    }
}

impl From<HashMap<Identity, Arc<Spec>>> for Specs {
    fn from(map: HashMap<Identity, Arc<Spec>>) -> Self {
        let mut all: Vec<(Identity, Arc<Spec>)> = map.into_iter().collect();
        all.sort_unstable_by_key(|e| e.0);
        Specs(all.into_boxed_slice())
    }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use keepalived_config::host::SystemHost;
    use keepalived_config::preprocess::Options;

    use super::*;

    fn identify_each(text: &str) -> (ProbeIdentify, Vec<Result<Vec<Identified>, String>>) {
        let loaded = keepalived_config::load_str(
            Path::new("t.conf"),
            text,
            &Options::default(),
            &SystemHost,
        );
        let config = loaded.config;
        let mut ident = ProbeIdentify::default();
        let mut out = Vec::new();
        for vs in &config.virtual_servers {
            for rs in &vs.real_servers {
                for c in &rs.checkers {
                    out.push(ident.identify_all(&config, vs, rs, c));
                }
            }
        }
        (ident, out)
    }

    #[test]
    fn every_kind_but_bfd_gets_a_checker_and_smtp_hosts_one_each() {
        let text = "bfd_instance b1 {\n neighbor_ip 198.51.100.1\n}\n\
            virtual_server 192.0.2.10 53 {\n protocol UDP\n \
            real_server 198.51.100.1 53 {\n  DNS_CHECK {\n  }\n  UDP_CHECK {\n  }\n  \
            PING_CHECK {\n  }\n  BFD_CHECK {\n   name b1\n  }\n  \
            SMTP_CHECK {\n   host {\n    connect_port 25\n   }\n   host {\n    connect_port 26\n   }\n  }\n }\n}\n";
        let (ident, got) = identify_each(text);
        let counts: Vec<usize> = got
            .iter()
            .map(|r| r.as_ref().map_or(usize::MAX, Vec::len))
            .collect();
        // DNS, UDP, PING: one each; BFD: none; SMTP: one per host.
        assert_eq!(counts, vec![1, 1, 1, 0, 2]);
        let smtp = got[4].as_ref().map(Vec::as_slice).unwrap_or_default();
        assert_ne!(smtp[0].identity, smtp[1].identity);
        // Every identified probe has its spec, in the map and in the
        // sorted form the actor keeps.
        let specs = Specs::from(ident.specs.clone());
        for ids in got.iter().flatten() {
            for i in ids {
                assert!(ident.specs.contains_key(&i.share), "{i:?}");
                assert!(
                    specs
                        .get(&i.share)
                        .is_some_and(|s| Arc::ptr_eq(s, &ident.specs[&i.share])),
                    "{i:?}"
                );
            }
        }
        assert!(specs.get(&Identity(7)).is_none());
    }

    #[test]
    fn a_file_check_reads_its_track_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tf");
        std::fs::write(&path, "0x10\n").expect("write");
        let text = format!(
            "track_file tf {{\n file {}\n weight 2\n}}\n\
             virtual_server 192.0.2.10 80 {{\n protocol TCP\n \
             real_server 198.51.100.1 80 {{\n  FILE_CHECK {{\n   track_file tf\n  }}\n }}\n}}\n",
            path.display()
        );
        let (mut ident, got) = identify_each(&text);
        assert_eq!(got.len(), 1);
        assert!(got[0].as_ref().is_ok_and(|v| v.len() == 1), "{got:?}");
        assert!(ident.specs.is_empty(), "a FILE_CHECK runs no probe");
        assert_eq!(ident.file_value("tf"), 16);
        std::fs::remove_file(&path).expect("rm");
        assert_eq!(ident.file_value("tf"), 0, "a missing file reads 0");
        assert_eq!(ident.file_value("other"), 0);
    }
}
