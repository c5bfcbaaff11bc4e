// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the status summary counts, kept as the pool changes rather than
//! counted per request: a summary of a 100 000-real-server table must
//! cost what one of ten does.
//!
//! Only the exceptions are kept (real servers down, virtual servers
//! without quorum), in ordered sets so that the first few listed are the
//! same from one request to the next. The pool recounts everything after
//! a start, a reload or a stop (those walk the whole table anyway) and
//! moves one entry at each real server or quorum transition.

use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub real_servers: usize,
    /// (virtual server, real server) indices of the real servers down.
    pub down: BTreeSet<(usize, usize)>,
    /// Indices of the virtual servers without quorum.
    pub quorum_down: BTreeSet<usize>,
}

impl Tally {
    pub fn real_server(&mut self, v: usize, r: usize, alive: bool) {
        if alive {
            self.down.remove(&(v, r));
        } else {
            self.down.insert((v, r));
        }
    }

    pub fn quorum(&mut self, v: usize, up: bool) {
        if up {
            self.quorum_down.remove(&v);
        } else {
            self.quorum_down.insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_move_one_entry_each_way() {
        let mut t = Tally::default();
        t.real_server(0, 1, false);
        t.real_server(0, 1, false);
        t.real_server(2, 0, false);
        assert_eq!(t.down.len(), 2);
        t.real_server(0, 1, true);
        assert_eq!(t.down.iter().copied().collect::<Vec<_>>(), vec![(2, 0)]);
        t.quorum(3, false);
        t.quorum(3, true);
        assert!(t.quorum_down.is_empty());
    }
}
