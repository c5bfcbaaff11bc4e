// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The way back from the spawner thread to the task that asked: one slot
//! per request, filled by the worker and emptied by the asker, which is
//! always the one to free it in steady state.
//!
//! Why not a `tokio::sync::oneshot`: its sender drops its reference to
//! the shared cell inside `send`, after waking the receiver; when the
//! woken task has already taken the value and gone, the worker thread
//! holds the last reference and frees the cell (1 start in 25 in
//! `crates/sys/tests/spawn_alloc.rs`). A free on a thread gives it a
//! glibc arena and a cache of its own. Here the value is handed over
//! only once the worker has let go of the slot: the worker drops its
//! reference before it wakes the asker, and the asker takes the value
//! only when its own reference is the last. The worker frees the slot
//! only when the asker gave up first (a cancelled start, not the steady
//! state).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct State<T> {
    value: Option<T>,
    /// The asker's waker, set and dropped on the asker's side only.
    waker: Option<Waker>,
    /// The asker dropped its side: nobody will take a value.
    asker_gone: bool,
    /// The worker dropped its side without a value (its thread ended).
    worker_gone: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A new slot: the worker's side and the asker's.
pub(crate) fn slot<T>() -> (Filler<T>, Waiting<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: None,
            waker: None,
            asker_gone: false,
            worker_gone: false,
        }),
    });
    (Filler(Some(shared.clone())), Waiting(shared))
}

/// The worker's side.
pub(crate) struct Filler<T>(Option<Arc<Shared<T>>>);

impl<T> Filler<T> {
    /// The asker has given up.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.as_ref().is_none_or(|s| s.lock().asker_gone)
    }

    /// Hands `value` to the asker; gives it back if the asker is gone.
    pub(crate) fn send(mut self, value: T) -> Result<(), T> {
        let Some(shared) = self.0.take() else {
            return Err(value);
        };
        let waker = {
            let mut state = shared.lock();
            if state.asker_gone {
                return Err(value);
            }
            state.value = Some(value);
            state.waker.clone()
        };
        // Let go first: the asker takes the value only from a slot it
        // alone holds, so it frees the slot, not this thread.
        drop(shared);
        // A clone of the task's waker: waking it hands its reference to
        // the scheduler, nothing is freed here.
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl<T> Drop for Filler<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            let waker = {
                let mut state = shared.lock();
                state.worker_gone = true;
                state.waker.clone()
            };
            // As in `send`: the asker sees the end only once the slot is
            // its alone, so let go before waking it.
            drop(shared);
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

/// The asker's side: resolves to the value, or to `Err(())` when the
/// worker dropped its side without one.
pub(crate) struct Waiting<T>(Arc<Shared<T>>);

impl<T> Future for Waiting<T> {
    type Output = Result<T, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.0.lock();
        if state.value.is_some() || state.worker_gone {
            // The worker is done with the slot; its reference goes right
            // after it unlocks, and only then is the slot ours alone. It
            // read the waker before that, maybe before we had set one:
            // so no wake-up is owed to us, and we ask to be polled again
            // instead of waiting for one (the count was once read before
            // the lock, and a reply that came in between was never seen:
            // a start hung in a loaded full run).
            if Arc::strong_count(&self.0) == 1 {
                return Poll::Ready(state.value.take().ok_or(()));
            }
            drop(state);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let stale = match &state.waker {
            Some(w) => !w.will_wake(cx.waker()),
            None => true,
        };
        let old = if stale {
            state.waker.replace(cx.waker().clone())
        } else {
            None
        };
        drop(state);
        drop(old);
        Poll::Pending
    }
}

impl<T> Drop for Waiting<T> {
    fn drop(&mut self) {
        // Whatever is in the slot is dropped here, on the asker's thread.
        let (value, waker) = {
            let mut state = self.0.lock();
            state.asker_gone = true;
            (state.value.take(), state.waker.take())
        };
        drop((value, waker));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    }

    use crate::spawn::DropCounted as Counted;

    #[test]
    fn a_value_sent_from_another_thread_arrives() {
        let (filler, waiting) = slot::<u32>();
        let worker = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            filler.send(7)
        });
        assert_eq!(rt().block_on(waiting), Ok(7));
        assert!(worker.join().expect("joined").is_ok());
    }

    #[test]
    fn the_worker_keeps_no_reference_after_sending() {
        let (filler, waiting) = slot::<u32>();
        let shared = waiting.0.clone();
        assert!(filler.send(1).is_ok());
        // The asker's and this test's clone.
        assert_eq!(Arc::strong_count(&shared), 2);
        drop(shared);
        assert_eq!(rt().block_on(waiting), Ok(1));
    }

    #[test]
    fn a_value_is_not_taken_while_the_worker_holds_the_slot() {
        let (mut filler, mut waiting) = slot::<u32>();
        // As `send` does, stopped between storing the value and letting
        // go of the slot.
        let held = filler.0.take().expect("worker side");
        held.lock().value = Some(3);
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut waiting).poll(&mut cx).is_pending());
        drop(held);
        assert_eq!(Pin::new(&mut waiting).poll(&mut cx), Poll::Ready(Ok(3)));
        drop(filler);
    }

    #[test]
    fn a_value_for_a_gone_asker_comes_back() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let (filler, waiting) = slot::<Counted>();
        drop(waiting);
        assert!(filler.is_closed());
        let back = filler.send(Counted(dropped.clone()));
        assert!(back.is_err());
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        drop(back);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_unsent_value_dropped_with_the_asker() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let (filler, waiting) = slot::<Counted>();
        assert!(filler.send(Counted(dropped.clone())).is_ok());
        drop(waiting);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_worker_gone_without_a_value_ends_the_wait() {
        let (filler, waiting) = slot::<u32>();
        let worker = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(filler);
        });
        assert_eq!(rt().block_on(waiting), Err(()));
        worker.join().expect("joined");
    }

    /// A waker that counts its wake-ups.
    struct WakeCount(AtomicUsize);

    impl std::task::Wake for WakeCount {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The worker stored its value (or its end) when no waker was set
    /// yet, so it wakes nobody; the asker's first poll comes before the
    /// worker lets go of the slot. No wake-up is owed to the asker: it
    /// must ask for another poll itself, or it waits for ever (a start
    /// hung so once in a loaded full run).
    #[test]
    fn a_reply_found_before_the_worker_lets_go_asks_for_another_poll() {
        for sends in [true, false] {
            let (mut filler, mut waiting) = slot::<u32>();
            let held = filler.0.take().expect("worker side");
            {
                let mut state = held.lock();
                if sends {
                    state.value = Some(4);
                } else {
                    state.worker_gone = true;
                }
            }
            let woken = Arc::new(WakeCount(AtomicUsize::new(0)));
            let waker = Waker::from(woken.clone());
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut waiting).poll(&mut cx).is_pending());
            assert!(
                woken.0.load(Ordering::SeqCst) >= 1,
                "pending with nobody to wake it ({})",
                if sends { "a value" } else { "the end" }
            );
            drop(held);
            let expected = if sends { Ok(4) } else { Err(()) };
            assert_eq!(Pin::new(&mut waiting).poll(&mut cx), Poll::Ready(expected));
            drop(filler);
        }
    }

    /// A waker that notes how many hold the slot when it is woken.
    struct Probe {
        slot: std::sync::Weak<Shared<u32>>,
        holders: Mutex<Option<usize>>,
    }

    impl std::task::Wake for Probe {
        fn wake(self: Arc<Self>) {
            *self.holders.lock().expect("lock") = Some(self.slot.strong_count());
        }
    }

    /// Were the asker woken while the worker still held the slot, it
    /// would find the value (or the end) not yet its own, wait again,
    /// and never be woken.
    #[test]
    fn the_worker_lets_go_before_it_wakes_the_asker() {
        for sends in [true, false] {
            let (filler, mut waiting) = slot::<u32>();
            let probe = Arc::new(Probe {
                slot: Arc::downgrade(&waiting.0),
                holders: Mutex::new(None),
            });
            let waker = Waker::from(probe.clone());
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut waiting).poll(&mut cx).is_pending());
            if sends {
                assert!(filler.send(5).is_ok());
            } else {
                drop(filler);
            }
            assert_eq!(
                *probe.holders.lock().expect("lock"),
                Some(1),
                "woken by {}",
                if sends { "send" } else { "drop" }
            );
            let expected = if sends { Ok(5) } else { Err(()) };
            assert_eq!(Pin::new(&mut waiting).poll(&mut cx), Poll::Ready(expected));
        }
    }
}
