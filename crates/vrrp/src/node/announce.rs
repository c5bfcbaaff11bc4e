// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Health-driven route announcements (`vrrp_announce`, a keepalived-rs
//! extension): a host route per address, for a routing daemon to carry
//! over BGP, present only while every tracked object of the announce is
//! healthy.
//!
//! Rules:
//! * every tracked use is a condition (weight 0): the announce is
//!   healthy when none of them is a fault cause, and "no result yet"
//!   (a script still running its first time, an interface never
//!   reported) is not healthy, so nothing is announced at start before
//!   the first results say so;
//! * health is recomputed from the objects' current states after every
//!   change, like an instance's fault causes ([`crate::node::Node`]);
//! * a reload keeps the state of an announce of the same name, so one
//!   that stays healthy is never withdrawn; a removed one is withdrawn;
//! * stopping withdraws every route first and tells the shell how long
//!   to wait (the longest `drain_delay` of what was announced) before it
//!   removes the addresses, so the router moves flows away while the
//!   connections it already sent here are still answered.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::node::core::{Node, Uses};
use crate::node::event::{Effect, FaultCause};
use crate::node::track::TrackUse;

/// What the node needs to know about one `vrrp_announce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceSpec {
    pub name: String,
    #[serde(default)]
    pub track_interface: Vec<TrackUse>,
    #[serde(default)]
    pub track_script: Vec<TrackUse>,
    #[serde(default)]
    pub track_file: Vec<TrackUse>,
    #[serde(default)]
    pub track_process: Vec<TrackUse>,
    /// How long a stop waits between withdrawing and removing addresses.
    #[serde(default)]
    pub drain: Duration,
}

/// One announce's live state, for the status view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceStatus {
    pub name: String,
    pub announced: bool,
    /// Why it is not announced (empty while announced, or stopped).
    pub causes: Vec<FaultCause>,
    /// Stopped: withdrawn for good until the next start.
    pub stopped: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Announcer {
    spec: AnnounceSpec,
    announced: bool,
    causes: Vec<FaultCause>,
    stopped: bool,
}

// ===== impl Node =====

impl Node {
    /// Sets the announces (at start and on reload) and returns the
    /// withdrawals of removed announced ones. One of the same name keeps
    /// its state, so a reload that keeps it healthy changes nothing. The
    /// others are judged at the next [`Node::refresh`], once the shell
    /// has read the links and files.
    pub fn configure_announces(&mut self, specs: Vec<AnnounceSpec>) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut old = std::mem::take(&mut self.announces);
        for spec in specs {
            let a = match old.iter().position(|a| a.spec.name == spec.name) {
                Some(pos) => {
                    let mut a = old.swap_remove(pos);
                    a.spec = spec;
                    a
                }
                None => Announcer {
                    spec,
                    announced: false,
                    causes: Vec::new(),
                    stopped: false,
                },
            };
            self.announces.push(a);
        }
        for gone in old.into_iter().filter(|a| a.announced) {
            out.push(Effect::Announce {
                announce: gone.spec.name,
                up: false,
                causes: Vec::new(),
            });
        }
        out
    }

    /// Withdraws every announced route for good (the process is
    /// stopping) and returns the withdrawals and how long to wait before
    /// the addresses go: the longest drain of what was announced, zero
    /// if nothing was.
    pub fn stop_announces(&mut self) -> (Vec<Effect>, Duration) {
        let mut out = Vec::new();
        let mut drain = Duration::ZERO;
        for a in &mut self.announces {
            a.stopped = true;
            if a.announced {
                a.announced = false;
                drain = drain.max(a.spec.drain);
                out.push(Effect::Announce {
                    announce: a.spec.name.clone(),
                    up: false,
                    causes: Vec::new(),
                });
            }
        }
        (out, drain)
    }

    pub fn announces(&self) -> Vec<AnnounceStatus> {
        self.announces
            .iter()
            .map(|a| AnnounceStatus {
                name: a.spec.name.clone(),
                announced: a.announced,
                causes: a.causes.clone(),
                stopped: a.stopped,
            })
            .collect()
    }

    /// Every interface the announces track.
    pub(super) fn announce_interfaces(&self) -> impl Iterator<Item = &String> {
        self.announces
            .iter()
            .flat_map(|a| a.spec.track_interface.iter().map(|u| &u.name))
    }

    /// Every file the announces track.
    pub(super) fn announce_files(&self) -> impl Iterator<Item = &String> {
        self.announces
            .iter()
            .flat_map(|a| a.spec.track_file.iter().map(|u| &u.name))
    }

    /// Recomputes each announce's health; pushes a change of announced
    /// state (with the causes, for the log) as [`Effect::Announce`].
    pub(super) fn evaluate_announces(&mut self, out: &mut Vec<Effect>) {
        let verdicts: Vec<Vec<FaultCause>> = self
            .announces
            .iter()
            .map(|a| {
                let uses = Uses {
                    interfaces: &a.spec.track_interface,
                    scripts: &a.spec.track_script,
                    files: &a.spec.track_file,
                    processes: &a.spec.track_process,
                };
                let mut causes = Vec::new();
                // Weights were forced to 0 when the spec was made: only
                // the causes matter.
                self.judge(&uses, &mut causes);
                causes.sort();
                causes.dedup();
                causes
            })
            .collect();
        for (a, causes) in self.announces.iter_mut().zip(verdicts) {
            if a.stopped {
                continue;
            }
            let up = causes.is_empty();
            a.causes = causes;
            if up != a.announced {
                a.announced = up;
                out.push(Effect::Announce {
                    announce: a.spec.name.clone(),
                    up,
                    causes: a.causes.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fsm::time::Instant;
    use crate::node::Event;
    use crate::node::track::ScriptParams;

    const T0: Instant = Instant::ZERO;

    fn at(ms: u64) -> Instant {
        T0 + Duration::from_millis(ms)
    }

    fn use0(name: &str) -> TrackUse {
        TrackUse {
            name: name.into(),
            weight: 0,
            reverse: false,
        }
    }

    fn spec(name: &str) -> AnnounceSpec {
        AnnounceSpec {
            name: name.into(),
            track_interface: vec![use0("eth0")],
            track_script: vec![use0("chk")],
            track_file: Vec::new(),
            track_process: Vec::new(),
            drain: Duration::from_secs(2),
        }
    }

    fn node() -> Node {
        let mut n = Node::new();
        n.configure_scripts(
            vec![ScriptParams {
                name: "chk".into(),
                interval: Duration::from_secs(1),
                rise: 2,
                fall: 2,
                init_fail: false,
            }],
            T0,
        );
        n
    }

    fn announced(effects: &[Effect]) -> Vec<(String, bool)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Announce { announce, up, .. } => Some((announce.clone(), *up)),
                _ => None,
            })
            .collect()
    }

    fn up(name: &str) -> Vec<(String, bool)> {
        vec![(name.to_string(), true)]
    }

    fn down(name: &str) -> Vec<(String, bool)> {
        vec![(name.to_string(), false)]
    }

    #[test]
    fn nothing_is_announced_before_the_first_results_say_healthy() {
        let mut n = node();
        assert!(announced(&n.configure_announces(vec![spec("web")])).is_empty());
        assert!(announced(&n.refresh(T0)).is_empty());
        let st = &n.announces()[0];
        assert!(!st.announced);
        assert!(
            st.causes.contains(&FaultCause::ScriptPending("chk".into())),
            "{st:?}"
        );
        assert!(
            st.causes
                .contains(&FaultCause::TrackedInterface("eth0".into()))
        );
        let e = n.handle(
            Event::Link {
                interface: "eth0".into(),
                up: true,
            },
            at(1),
        );
        assert!(announced(&e).is_empty(), "script still pending");
        let e = n.handle(
            Event::ScriptResult {
                script: "chk".into(),
                ok: true,
            },
            at(2),
        );
        assert_eq!(announced(&e), up("web"));
        assert!(n.announces()[0].causes.is_empty());
    }

    fn healthy_node() -> Node {
        let mut n = node();
        n.configure_announces(vec![spec("web")]);
        n.handle(
            Event::Link {
                interface: "eth0".into(),
                up: true,
            },
            at(1),
        );
        let e = n.handle(
            Event::ScriptResult {
                script: "chk".into(),
                ok: true,
            },
            at(2),
        );
        assert_eq!(announced(&e), up("web"));
        n
    }

    #[test]
    fn withdrawn_when_not_healthy_and_back_on_recovery() {
        let mut n = healthy_node();
        let fail = Event::ScriptResult {
            script: "chk".into(),
            ok: false,
        };
        assert!(
            announced(&n.handle(fail.clone(), at(3))).is_empty(),
            "fall 2"
        );
        assert_eq!(announced(&n.handle(fail, at(4))), down("web"));
        assert_eq!(
            n.announces()[0].causes,
            vec![FaultCause::Script("chk".into())]
        );
        let ok = Event::ScriptResult {
            script: "chk".into(),
            ok: true,
        };
        assert!(announced(&n.handle(ok.clone(), at(5))).is_empty(), "rise 2");
        assert_eq!(announced(&n.handle(ok, at(6))), up("web"));
        let e = n.handle(
            Event::Link {
                interface: "eth0".into(),
                up: false,
            },
            at(7),
        );
        assert_eq!(announced(&e), down("web"));
    }

    #[test]
    fn a_reload_that_keeps_health_changes_nothing() {
        let mut n = healthy_node();
        let mut again = spec("web");
        again.drain = Duration::from_secs(5);
        n.configure_scripts(
            vec![ScriptParams {
                name: "chk".into(),
                interval: Duration::from_secs(2),
                rise: 3,
                fall: 3,
                init_fail: false,
            }],
            at(10),
        );
        let mut api = spec("api");
        api.track_interface = vec![use0("eth1")];
        assert!(announced(&n.configure_announces(vec![again, api.clone()])).is_empty());
        assert!(
            announced(&n.refresh(at(10))).is_empty(),
            "web stays, api waits"
        );
        assert!(n.announces()[0].announced, "kept");
        assert!(!n.announces()[1].announced, "eth1 never reported");
        // A removed announced one is withdrawn.
        assert_eq!(announced(&n.configure_announces(vec![api])), down("web"));
    }

    #[test]
    fn stop_withdraws_first_and_says_how_long_to_drain() {
        let mut n = healthy_node();
        let mut quiet = spec("idle");
        quiet.track_interface = vec![use0("eth9")];
        quiet.drain = Duration::from_secs(9);
        n.configure_announces(vec![spec("web"), quiet]);
        n.refresh(at(3));
        let (e, drain) = n.stop_announces();
        assert_eq!(announced(&e), down("web"));
        assert_eq!(
            drain,
            Duration::from_secs(2),
            "only what was announced drains"
        );
        // Nothing comes back after a stop, whatever the health says.
        let e = n.handle(
            Event::ScriptResult {
                script: "chk".into(),
                ok: true,
            },
            at(20),
        );
        assert!(announced(&e).is_empty());
        let (e, drain) = n.stop_announces();
        assert!(e.is_empty());
        assert_eq!(drain, Duration::ZERO);
    }

    #[test]
    fn the_shell_is_told_to_watch_what_announces_track() {
        let mut n = node();
        let mut s = spec("web");
        s.track_file = vec![use0("state")];
        n.configure_announces(vec![s]);
        assert_eq!(n.interfaces(), vec!["eth0".to_string()]);
        assert_eq!(n.files(), vec!["state".to_string()]);
    }

    #[test]
    fn reverse_turns_a_condition_around() {
        let mut n = node();
        let mut s = spec("maint");
        s.track_script.clear();
        s.track_interface = vec![TrackUse {
            name: "maint0".into(),
            weight: 0,
            reverse: true,
        }];
        n.configure_announces(vec![s]);
        // Never reported = down, so with reverse it is healthy at once.
        assert_eq!(announced(&n.refresh(T0)), up("maint"));
        let e = n.handle(
            Event::Link {
                interface: "maint0".into(),
                up: true,
            },
            at(1),
        );
        assert_eq!(announced(&e), down("maint"));
    }
}
