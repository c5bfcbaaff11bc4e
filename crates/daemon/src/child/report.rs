// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the checker child reports: the diff of two snapshots' virtual
//! servers by key, and keepalived_check.data built from the configuration.
//! (The VRRP child writes its dumps from live state: [`super::vrrp`].)

use std::collections::BTreeMap;
use std::fmt::Write as _;

use keepalived_check::book::{CheckerState, VirtualServerState};
use keepalived_config::Config;

use crate::dump;
use crate::proto::DumpKind;

/// What changed between two snapshots, by name.
/// How many names of each kind a summary lists.
const SUMMARY_NAMES: usize = 10;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
}

fn diff_by<T: PartialEq>(old: &[T], new: &[T], name: impl Fn(&T) -> String) -> Diff {
    let old: BTreeMap<String, &T> = old.iter().map(|x| (name(x), x)).collect();
    let new: BTreeMap<String, &T> = new.iter().map(|x| (name(x), x)).collect();
    let mut d = Diff::default();
    for (k, v) in &new {
        match old.get(k) {
            None => d.added.push(k.clone()),
            Some(o) if o != v => d.changed.push(k.clone()),
            Some(_) => d.unchanged += 1,
        }
    }
    d.removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    d
}

/// Each virtual server's key and a fingerprint of its whole model
/// (checkers included): what the next reload's [`Outline::diff`] needs of
/// a configuration the child no longer keeps whole (the running pool
/// drops its checkers' model once built).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline(Vec<(String, u64)>);

impl Outline {
    pub fn of(config: &Config) -> Outline {
        Outline(
            config
                .virtual_servers
                .iter()
                .map(|v| (v.key.to_string(), fingerprint(v)))
                .collect(),
        )
    }

    /// What changed from the configuration this outline was taken of to
    /// `new`'s, virtual server by key: two are the same when their
    /// encodings are (the child receives that encoding, so no field it
    /// knows of escapes it).
    pub fn diff(&self, new: &Outline) -> Diff {
        diff_by(&self.0, &new.0, |(key, _)| key.clone())
    }
}

/// A 64-bit hash of `v`'s snapshot encoding, fed to the hasher as it is
/// written (no copy of the text).
fn fingerprint<T: serde::Serialize>(v: &T) -> u64 {
    use std::hash::Hasher;
    struct Feed(std::hash::DefaultHasher);
    impl std::io::Write for Feed {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.write(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut feed = Feed(std::hash::DefaultHasher::new());
    // An encoding that fails (it cannot: the supervisor encoded the same
    // model) leaves a partial hash, which only makes a summary say
    // "changed".
    let _ = serde_json::to_writer(&mut feed, v);
    feed.0.finish()
}

impl Diff {
    pub fn summary(&self, what: &str) -> String {
        let mut s = format!(
            "{what}: {} added, {} removed, {} changed, {} unchanged",
            self.added.len(),
            self.removed.len(),
            self.changed.len(),
            self.unchanged
        );
        for (label, names) in [
            ("added", &self.added),
            ("removed", &self.removed),
            ("changed", &self.changed),
        ] {
            if !names.is_empty() {
                // A start with 10 000 virtual servers must not log them all.
                let shown = names.len().min(SUMMARY_NAMES);
                let _ = write!(s, "; {label} {}", names[..shown].join(", "));
                if names.len() > shown {
                    let _ = write!(s, " and {} more", names.len() - shown);
                }
            }
        }
        s
    }
}

/// The text of keepalived_check.data: the configuration's outline, then
/// every checker's live state in keepalived's layout (check_api.c
/// `dump_checker`), rendered from the pool's status model.
pub fn data_text(config: &Config, generation: u64, health: &[VirtualServerState]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "------< Global definitions >------");
    let _ = writeln!(
        s,
        " Router ID = {}",
        config.global_defs.router_id.as_deref().unwrap_or("(none)")
    );
    let _ = writeln!(s, " Configuration generation = {generation}");
    let _ = writeln!(s, "------< LVS Topology >------");
    for v in &config.virtual_servers {
        let _ = writeln!(s, " VIP = {}", v.key);
        let _ = writeln!(s, "   Real servers = {}", v.real_servers.len());
    }
    let _ = writeln!(s, "------< Health checkers >------");
    for vs in health {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                checker_text(&mut s, &vs.name, &rs.name, c);
            }
        }
    }
    s
}

fn checker_text(s: &mut String, vs: &str, rs: &str, c: &CheckerState) {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let st = &c.state;
    let _ = writeln!(s, " {vs} -> {rs}");
    let _ = writeln!(s, "   Keepalive method = {}", c.kind.label());
    let _ = writeln!(s, "   Enabled = {}", yes(st.enabled));
    let _ = writeln!(s, "   Up = {}", yes(st.up));
    let _ = writeln!(s, "   Has run = {}", yes(st.has_run));
    let _ = writeln!(s, "   Current weight = {}", st.cur_weight);
    let _ = writeln!(s, "   Alpha = {}", yes(st.alpha));
    let _ = writeln!(s, "   Delay loop = {} us", st.delay_loop_us);
    let _ = writeln!(s, "   Warmup = {} us", st.warmup_us);
    let _ = writeln!(s, "   Retries = {}", st.retry);
    if st.retry > 0 {
        let _ = writeln!(s, "   Delay before retry = {} us", st.delay_before_retry_us);
        let _ = writeln!(s, "   Retries iterations = {}", st.retry_it);
    }
}

/// The checker's dumps: USR1's data file; it has no stats or JSON dump
/// (keepalived's checker has none either).
pub fn write_dump(what: DumpKind, config: &Config, generation: u64, health: &[VirtualServerState]) {
    if what == DumpKind::Data {
        dump::write_logged(dump::CHECK_DATA, &data_text(config, generation, health));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::model::lvs::{VirtualServer, VirtualServerKey};

    fn vs(mark: u32, delay: bool) -> VirtualServer {
        VirtualServer {
            key: VirtualServerKey::Fwmark(mark),
            ha_suspend: delay,
            ..VirtualServer::default()
        }
    }

    fn with(virtual_servers: Vec<VirtualServer>) -> Config {
        Config {
            virtual_servers,
            ..Config::default()
        }
    }

    #[test]
    fn diff_names_added_removed_changed() {
        let old = with(vec![vs(1, false), vs(2, false), vs(4, false)]);
        let new = with(vec![vs(2, true), vs(3, false), vs(1, false)]);
        let d = Outline::of(&old).diff(&Outline::of(&new));
        assert_eq!(d.added, ["FWM 3"]);
        assert_eq!(d.removed, ["FWM 4"]);
        assert_eq!(d.changed, ["FWM 2"]);
        assert_eq!(d.unchanged, 1);
        assert_eq!(
            d.summary("virtual servers"),
            "virtual servers: 1 added, 1 removed, 1 changed, 1 unchanged; \
             added FWM 3; removed FWM 4; changed FWM 2"
        );
    }

    #[test]
    fn a_change_inside_a_checker_changes_its_virtual_server() {
        use keepalived_config::model::checker::{Checker, CheckerCommon, TcpCheck};
        use keepalived_config::model::lvs::RealServer;
        let with_check = |retry: Option<u32>| {
            let mut v = vs(1, false);
            let common = CheckerCommon {
                retry,
                ..CheckerCommon::default()
            };
            v.real_servers.push(RealServer {
                checkers: vec![Checker::TcpCheck(TcpCheck { common })],
                ..RealServer::default()
            });
            with(vec![v, vs(2, false)])
        };
        let old = Outline::of(&with_check(None));
        let d = old.diff(&Outline::of(&with_check(Some(3))));
        assert_eq!(d.changed, ["FWM 1"]);
        assert_eq!(d.unchanged, 1);
        assert_eq!(old.diff(&Outline::of(&with_check(None))).unchanged, 2);
    }

    #[test]
    fn a_summary_lists_ten_names_of_each_kind_then_counts() {
        let new = with((1..=25).map(|m| vs(m, false)).collect());
        let s = Outline::default()
            .diff(&Outline::of(&new))
            .summary("virtual servers");
        assert!(s.starts_with("virtual servers: 25 added, 0 removed"), "{s}");
        assert_eq!(s.matches("FWM ").count(), 10, "{s}");
        assert!(s.ends_with(" and 15 more"), "{s}");
    }

    #[test]
    fn data_dump_lists_the_virtual_servers() {
        let text = data_text(&with(vec![vs(7, false)]), 3, &[]);
        assert!(text.contains(" Configuration generation = 3\n"), "{text}");
        assert!(
            text.contains(" VIP = FWM 7\n   Real servers = 0\n"),
            "{text}"
        );
    }

    #[test]
    fn data_file_lists_each_checker_in_keepalived_layout() {
        use keepalived_check::book::ConfigIdentity;
        use keepalived_check::reconcile::Pool;
        use keepalived_check::time::Instant;
        let text = "virtual_server 192.0.2.10 80 {\n protocol TCP\n \
                    real_server 198.51.100.1 80 {\n  TCP_CHECK {\n   retry 2\n  }\n }\n}\n";
        let loaded = keepalived_config::load_str(
            std::path::Path::new("t.conf"),
            text,
            &keepalived_config::preprocess::Options::default(),
            &keepalived_config::host::FakeHost::with_interfaces(&["eth0"]),
        );
        let config = std::sync::Arc::new(loaded.config);
        let mut jitter = |_| std::time::Duration::ZERO;
        let (pool, _) = Pool::start(
            config.clone(),
            &mut ConfigIdentity,
            Instant::ZERO,
            &mut jitter,
        );
        let out = data_text(&config, 1, &pool.status());
        let want = " [192.0.2.10]:tcp:80 -> [198.51.100.1]:tcp:80\n   Keepalive method = TCP_CHECK\n   \
                    Enabled = yes\n   Up = yes\n   Has run = no\n   Current weight = 0\n   \
                    Alpha = no\n   Delay loop = 60000000 us\n   Warmup = 60000000 us\n   \
                    Retries = 2\n   Delay before retry = 1000000 us\n   Retries iterations = 2\n";
        assert!(out.contains(want), "{out}");
    }
}
