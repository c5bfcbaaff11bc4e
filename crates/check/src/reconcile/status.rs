// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The pool's live state (DESIGN.md "One status model"): what the control
//! socket, the USR1 dump and the debug log render.

use std::collections::BTreeMap;

use super::Pool;
use crate::book::{CheckerState, Identity, RealServerState, VirtualServerState};

impl Pool {
    pub fn status(&self) -> Vec<VirtualServerState> {
        self.book
            .vss
            .iter()
            .enumerate()
            .map(|(v, vs)| {
                let w = self.live_weight(v);
                let up = self.quorum.state(&vs.id, w, vs.quorum, vs.hysteresis);
                VirtualServerState {
                    name: vs.name.clone(),
                    quorum: vs.quorum,
                    hysteresis: vs.hysteresis,
                    quorum_up: up,
                    sorry_server: vs.sorry.clone(),
                    sorry_active: !up && vs.sorry.is_some(),
                    real_servers: vs
                        .rss
                        .iter()
                        .map(|rs| RealServerState {
                            name: rs.name.clone(),
                            alive: rs.alive,
                            weight: rs.base_weight,
                            effective_weight: rs.effective_weight(),
                            inhibit_on_failure: rs.inhibit,
                            checkers: rs
                                .checkers
                                .iter()
                                .map(|c| CheckerState {
                                    kind: c.log.kind,
                                    identity: c.identity,
                                    share: c.share,
                                    state: c.machine.status(),
                                })
                                .collect(),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// How many checkers share each probe (more than one).
    pub fn shared_probes(&self) -> Vec<(Identity, usize)> {
        let mut n: BTreeMap<&Identity, usize> = BTreeMap::new();
        for (_, c) in self.book.checkers() {
            *n.entry(&c.share).or_default() += 1;
        }
        n.into_iter()
            .filter(|(_, k)| *k > 1)
            .map(|(i, k)| (*i, k))
            .collect()
    }
}
