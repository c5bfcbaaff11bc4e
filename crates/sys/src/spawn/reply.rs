// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The way back from the spawner thread to the task that asked: one slot
//! per request, filled by the worker and emptied by the asker, in which
//! the worker leaves its own reference instead of dropping it.
//!
//! Why not a `tokio::sync::oneshot`: its sender drops its reference to
//! the shared cell inside `send`, after waking the receiver; when the
//! woken task has already taken the value and gone, the worker thread
//! holds the last reference and frees the cell (1 start in 25 in
//! `crates/sys/tests/spawn_alloc.rs`). A free on a thread gives it a
//! glibc arena and a cache of its own. Here the worker moves its
//! reference into the slot under the slot's lock, so the asker's side
//! always frees it, except when the asker gave up first (a cancelled
//! start, not the steady state).

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
    /// The worker's own reference, parked here by `send`.
    parked: Option<Arc<Shared<T>>>,
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
            parked: None,
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
        #[allow(unsafe_code)]
        // SAFETY: the pointee lives as long as some reference to it does.
        // `shared` is one until it is parked in the state below, and from
        // then on the parked one can only be taken out, and so dropped,
        // under the lock this function holds until it returns.
        let cell = unsafe { &*Arc::as_ptr(&shared) };
        let mut state = cell.lock();
        if state.asker_gone {
            drop(state);
            return Err(value);
        }
        state.value = Some(value);
        state.parked = Some(shared);
        if let Some(w) = &state.waker {
            w.wake_by_ref();
        }
        Ok(())
    }
}

impl<T> Drop for Filler<T> {
    fn drop(&mut self) {
        if let Some(shared) = &self.0 {
            let mut state = shared.lock();
            state.worker_gone = true;
            if let Some(w) = &state.waker {
                w.wake_by_ref();
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
        if let Some(value) = state.value.take() {
            let parked = state.parked.take();
            drop(state);
            drop(parked);
            return Poll::Ready(Ok(value));
        }
        if state.worker_gone {
            return Poll::Ready(Err(()));
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
        // Everything in the slot is dropped here, on the asker's thread.
        let (value, parked, waker) = {
            let mut state = self.0.lock();
            state.asker_gone = true;
            (state.value.take(), state.parked.take(), state.waker.take())
        };
        drop((value, parked, waker));
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

    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

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
        // Asker, its clone here, and the parked one.
        assert_eq!(Arc::strong_count(&shared), 3);
        drop(waiting);
        assert_eq!(Arc::strong_count(&shared), 1, "the asker freed both");
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
}
