// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Forwarding a kernel notification subscription to a child's loop, with
//! lost notifications (ENOBUFS) turned into a few re-reads.
//!
//! Every rtnetlink subscription (deleted addresses/routes/rules and links
//! in the VRRP child, addresses for the checker child's `ha_suspend`) has
//! its own socket, which the kernel overruns in a storm (10 000 address
//! changes, a flapping link). Each overrun comes as one "lost" notice;
//! the consumer then re-reads the state it follows. A storm gives
//! hundreds of overruns, so [`LossBurst`] passes on the first of a burst
//! at once (and logs it) and holds the rest as one re-read once the
//! socket has been quiet, so a storm costs two re-reads and two log
//! lines, and the last re-read comes after the last lost notice.

use std::future::Future;
use std::time::Duration;

use keepalived_sys::addr_events::{AddrEvents, AddrNotice};
use keepalived_sys::deletions::{Deleted, Deletions};
use keepalived_sys::link::{LinkEvent, LinkEvents};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A subscription whose notices may say "some were lost".
pub(crate) trait Notices: Send + 'static {
    type Item: Send + 'static;
    /// The next notice; `None` when the subscription ended.
    fn next(&mut self) -> impl Future<Output = Option<Self::Item>> + Send + '_;
    fn is_lost(item: &Self::Item) -> bool;
    fn lost() -> Self::Item;
}

/// The three subscriptions differ only in their types: each has an
/// inherent `next`, and its item a `Lost` variant.
macro_rules! notices {
    ($($sub:ident => $item:ident),* $(,)?) => {$(
        impl Notices for $sub {
            type Item = $item;
            fn next(&mut self) -> impl Future<Output = Option<$item>> + Send + '_ {
                $sub::next(self)
            }
            fn is_lost(item: &$item) -> bool {
                matches!(item, $item::Lost)
            }
            fn lost() -> $item {
                $item::Lost
            }
        }
    )*};
}

notices!(
    Deletions => Deleted,
    LinkEvents => LinkEvent,
    AddrEvents => AddrNotice,
);

/// Runs `sub` on a task of its own and hands its notices to the returned
/// channel: those `keep` accepts, and the lost notices as [`LossBurst`]
/// lets them through. `what` names the state re-read after a loss, for
/// the log. The task ends with the subscription or the receiver.
pub(crate) fn forward<N: Notices>(
    mut sub: N,
    what: &'static str,
    keep: impl Fn(&N::Item) -> bool + Send + 'static,
) -> mpsc::UnboundedReceiver<N::Item> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut losses = LossBurst::new(what);
        loop {
            // None: the burst's held re-read is due, once the socket was
            // quiet for QUIET or, while notices keep coming, once its
            // time has passed (a timeout polls its future first, so a
            // steady stream would postpone it for ever).
            let next = match losses.held_until() {
                None => Some(sub.next().await),
                Some(at) if Instant::now() >= at => None,
                Some(at) => tokio::time::timeout_at(at, sub.next()).await.ok(),
            };
            let Some(next) = next else {
                losses.released();
                if tx.send(N::lost()).is_err() {
                    break;
                }
                continue;
            };
            let Some(ev) = next else { break };
            if N::is_lost(&ev) {
                if !losses.pass(Instant::now()) {
                    continue;
                }
            } else if !keep(&ev) {
                continue;
            }
            if tx.send(ev).is_err() {
                break;
            }
        }
    });
    rx
}

/// How lost notices reach the consumer during a storm: the first of a
/// burst at once (and logged), the rest held and passed on as one re-read
/// once the socket has been quiet for [`LossBurst::QUIET`]. A burst ends
/// after [`LossBurst::QUIET`] without a loss.
#[derive(Debug)]
pub(crate) struct LossBurst {
    what: &'static str,
    /// The last loss passed on or held.
    last: Option<Instant>,
    /// A loss held back: a re-read is owed at `last + QUIET`.
    held: bool,
    /// Losses in the current burst, for the closing log line.
    count: u64,
}

impl LossBurst {
    pub(crate) const QUIET: Duration = Duration::from_millis(200);

    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            what,
            last: None,
            held: false,
            count: 0,
        }
    }

    /// A loss at `now`: true to pass it on now.
    pub(crate) fn pass(&mut self, now: Instant) -> bool {
        let in_burst = self
            .last
            .is_some_and(|t| now.duration_since(t) < Self::QUIET);
        self.last = Some(now);
        if in_burst {
            self.held = true;
            self.count += 1;
            return false;
        }
        self.count = 1;
        tracing::warn!(
            "rtnetlink notifications lost (ENOBUFS: a storm of changes?); re-reading the {}",
            self.what
        );
        true
    }

    /// When the held re-read is due, if one is.
    pub(crate) fn held_until(&self) -> Option<Instant> {
        self.last.filter(|_| self.held).map(|t| t + Self::QUIET)
    }

    /// The held re-read was passed on: the burst is over.
    pub(crate) fn released(&mut self) {
        self.held = false;
        tracing::info!(
            "rtnetlink notifications were lost {} time(s) in that burst; {} re-read",
            self.count,
            self.what
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_burst_is_one_reread_now_and_one_when_quiet() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut b = LossBurst::new("addresses");
        assert_eq!(b.held_until(), None);
        assert!(b.pass(t0), "the first loss goes through at once");
        assert_eq!(b.held_until(), None, "nothing owed yet");
        assert!(!b.pass(ms(50)));
        assert!(
            !b.pass(ms(150)),
            "each loss within QUIET of the last is held"
        );
        assert_eq!(b.held_until(), Some(ms(150) + LossBurst::QUIET));
        b.released();
        assert_eq!(b.held_until(), None);
        assert!(
            b.pass(ms(150) + LossBurst::QUIET),
            "a new burst after a quiet spell"
        );
    }
}
