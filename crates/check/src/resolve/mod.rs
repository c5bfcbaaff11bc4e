// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Real servers named by DNS: the pure side (keepalived-rs extension).
//!
//! One [`NameState`] per `real_server_name`, driven as
//! `(outcome or poll, now) -> actions/changes` plus `next_deadline()`:
//! no socket, no clock of its own. The checker child sends the queries it
//! asks for and hands back what came of them, already classified by the
//! wire reader (`keepalived-probe`'s `resolve::wire`).
//!
//! The rules, HAProxy's timing with keepalived-rs's safety:
//!
//! 1. A lookup starts every `timeout resolve`, counted from the start of
//!    the previous one; the first at start-up.
//! 2. A lookup sends a query, then another each `timeout retry` without
//!    answer, `resolve_retries` queries in all; when the last one has
//!    waited `timeout retry` too, the lookup ends as [`Outcome::Timeout`].
//!    A lookup still running when the next is due simply ends first: never
//!    more than one query per name in flight.
//! 3. A valid answer makes its addresses current; an address missing from
//!    valid answers for `hold obsolete` is removed (checked when a valid
//!    answer comes, the only evidence that it is gone).
//! 4. NXDOMAIN answered continuously for `hold nx` removes every address.
//! 5. Timeouts, refusals and other errors change nothing: a DNS outage
//!    leaves IPVS as it was.
//! 6. Start-up: a name has no address until its first valid answer
//!    (HAProxy's `init-addr none`), unless its `init_addr` methods
//!    (`last` from the `state` file, `libc`, an address) seed it; seeded
//!    addresses follow rules 3 to 5 like answered ones.
//! 7. At most `max_addresses` addresses per name: the rest of an answer is
//!    dropped and counted, in the answer's order.
//! 8. SRV: targets without addresses in the answer are asked on their
//!    own, and only the lowest priority that resolves is used (`srv`).

mod expand;
mod name;
mod names;
mod srv;
pub mod state;
mod status;

pub use expand::{Lookup, LookupKey, LookupKind, expand, lookups};
pub use name::{Action, Change, NameState, Outcome, Settings, Target};
pub use names::Names;
pub use srv::{Followed, SrvRecord, SrvTargets, to_follow};
pub use status::{Counters, LastResult, NameStatus};
