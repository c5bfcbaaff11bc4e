// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The spawner thread: where a start sleeps until the new process has
//! execed, so that the event loops never do.
//!
//! A start is a `clone(CLONE_VM | CLONE_VFORK)`: the calling thread is
//! suspended until the new process execs. That is short on an idle
//! machine and long on a starved one (the soak saw 556 ms,
//! docs/reliability.md finding 9), longer than a peer's master-down
//! interval when the VRRP loop was the one waiting. So every start of a
//! process goes to one long-lived thread per process, started on the
//! first request:
//!
//! * requests are served in the order they were made (a bounded queue;
//!   when it is full the asker's future waits for room, so only its own
//!   task waits, and order holds for everything that got a place);
//! * the asker gets the pid and pidfd (or the start error), with its
//!   request back, through a slot ([`super::reply`]) and registers the
//!   pidfd with its own runtime; the request was built by the asker
//!   ([`super::prepared`]) and is freed by it: in steady state the
//!   thread neither allocates nor frees (a thread that does gets a glibc
//!   arena of its own);
//! * an asker that gave up (its future dropped at a reload or shutdown)
//!   is skipped if its request is still queued, and a process started
//!   for it meanwhile is killed and reaped with its group here (the
//!   answer's own `Drop`), so a cancelled start leaves no process and no
//!   descriptor.
//!
//! The thread blocks every signal: the daemon reads its signals from a
//! signalfd, and a signal must not be handled on this thread.
//!
//! In debug builds `KEEPALIVED_RS_TEST_SPAWN_DELAY_MS` makes the thread
//! sleep that long before every start (read once, when the thread
//! starts): tests use it to stand in for a starved machine's slow exec.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use tokio::sync::{Semaphore, TryAcquireError};

use super::reply::{self, Filler, Waiting};
use super::{Prepared, SpawnError, Started};

/// Starts that may wait for the spawner thread before an asker's future
/// has to wait for room (100 tracked scripts started at once fit many
/// times over).
pub const QUEUE_DEPTH: usize = 1024;

/// The test hook's variable (debug builds only).
const TEST_DELAY_VAR: &str = "KEEPALIVED_RS_TEST_SPAWN_DELAY_MS";

struct Job<Req, Resp> {
    req: Req,
    reply: Filler<Resp>,
}

/// The queue: a ring allocated once, at its full depth, by the thread
/// that starts the worker, so that neither pushing nor popping allocates
/// or frees (a tokio channel's receiver frees the blocks it cannot
/// recycle, on the worker thread).
struct Shared<Req, Resp> {
    state: Mutex<State<Req, Resp>>,
    ready: Condvar,
    /// One permit per free place in `jobs`.
    room: Semaphore,
}

struct State<Req, Resp> {
    jobs: VecDeque<Job<Req, Resp>>,
    /// Live [`Worker`] handles; the thread ends when there are none and
    /// nothing is queued.
    handles: usize,
    /// The thread has ended (or is unwinding): nothing more is served.
    dead: bool,
}

impl<Req, Resp> Shared<Req, Resp> {
    fn lock(&self) -> MutexGuard<'_, State<Req, Resp>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `job`, which holds a place in `room`; a job for a dead
    /// worker is dropped, which tells its asker Gone.
    fn push(&self, job: Job<Req, Resp>) {
        let mut state = self.lock();
        if state.dead {
            drop(state);
            drop(job);
            return;
        }
        state.jobs.push_back(job);
        drop(state);
        self.ready.notify_one();
    }

    /// The next job, in order; `None` once the last handle is gone and
    /// the queue is empty.
    fn pop(&self) -> Option<Job<Req, Resp>> {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                self.room.add_permits(1);
                return Some(job);
            }
            if state.handles == 0 {
                state.dead = true;
                return None;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// Marks the worker dead when its thread ends, also by a panic: queued
/// jobs are dropped (their askers get Gone) and askers waiting for room
/// are let go.
struct Ending<Req, Resp>(Arc<Shared<Req, Resp>>);

impl<Req, Resp> Drop for Ending<Req, Resp> {
    fn drop(&mut self) {
        let jobs = {
            let mut state = self.0.lock();
            state.dead = true;
            std::mem::take(&mut state.jobs)
        };
        self.0.room.close();
        drop(jobs);
    }
}

/// One thread serving `Req`s in order with a handler; the thread ends
/// when the last handle to it is dropped, after the queued requests.
pub(crate) struct Worker<Req, Resp> {
    shared: Arc<Shared<Req, Resp>>,
}

impl<Req, Resp> Clone for Worker<Req, Resp> {
    fn clone(&self) -> Self {
        self.shared.lock().handles += 1;
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<Req, Resp> Drop for Worker<Req, Resp> {
    fn drop(&mut self) {
        let last = {
            let mut state = self.shared.lock();
            state.handles -= 1;
            state.handles == 0
        };
        if last {
            self.shared.ready.notify_one();
        }
    }
}

/// The worker thread ended (it panicked) before answering.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Gone;

impl<Req: Send + 'static, Resp: Send + 'static> Worker<Req, Resp> {
    pub(crate) fn start<H>(name: &str, depth: usize, mut handle: H) -> io::Result<Self>
    where
        H: FnMut(Req) -> Resp + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: VecDeque::with_capacity(depth),
                handles: 1,
                dead: false,
            }),
            ready: Condvar::new(),
            room: Semaphore::new(depth),
        });
        let served = shared.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let ending = Ending(served);
                block_all_signals();
                while let Some(Job { req, reply }) = ending.0.pop() {
                    if reply.is_closed() {
                        // Given up while queued: not started at all.
                        continue;
                    }
                    let answer = handle(req);
                    // Given up meanwhile: the answer is dropped here, and
                    // its Drop undoes what was done for it.
                    let _ = reply.send(answer);
                }
            })?;
        Ok(Self { shared })
    }

    /// Its thread has ended.
    fn is_dead(&self) -> bool {
        self.shared.lock().dead
    }

    /// Queues `req` now (so requests are served in call order); the
    /// answer comes through the returned value.
    pub(crate) fn submit(&self, req: Req) -> Answer<Req, Resp> {
        let (reply, rx) = reply::slot();
        let job = Job { req, reply };
        let late = match self.shared.room.try_acquire() {
            Ok(place) => {
                place.forget();
                self.shared.push(job);
                None
            }
            Err(TryAcquireError::NoPermits) => Some((self.clone(), job)),
            // The job (and its reply) is dropped: `get` says Gone.
            Err(TryAcquireError::Closed) => None,
        };
        Answer { late, rx }
    }
}

/// A request that found the queue full, with a handle to queue it later
/// (which keeps the thread serving until it is).
type Late<Req, Resp> = (Worker<Req, Resp>, Job<Req, Resp>);

/// A request's answer to come.
pub(crate) struct Answer<Req, Resp> {
    /// A request that found the queue full, queued when awaited.
    late: Option<Late<Req, Resp>>,
    rx: Waiting<Resp>,
}

impl<Req, Resp> Answer<Req, Resp> {
    pub(crate) async fn get(self) -> Result<Resp, Gone> {
        if let Some((worker, job)) = self.late {
            let place = worker.shared.room.acquire().await.map_err(|_| Gone)?;
            place.forget();
            worker.shared.push(job);
        }
        self.rx.await.map_err(|()| Gone)
    }
}

fn block_all_signals() {
    use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
    if let Err(e) = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None) {
        tracing::warn!("spawner thread: cannot block signals: {e}");
    }
}

/// A start's answer, with the request it answers: the request goes back
/// to the asker, which frees it (or keeps it for the next start), so the
/// spawner thread frees nothing.
type Reply = (Result<Started, SpawnError>, Arc<Prepared>);

type Spawner = Worker<Arc<Prepared>, Reply>;

/// This process's spawner, with the pid that started it: a process
/// forked from us has the value but not the thread, and starts its own.
static SPAWNER: Mutex<Option<(u32, Spawner)>> = Mutex::new(None);

fn spawner() -> io::Result<Spawner> {
    let mut slot = SPAWNER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let me = std::process::id();
    if let Some((pid, w)) = slot.as_ref()
        && *pid == me
        && !w.is_dead()
    {
        return Ok(w.clone());
    }
    let delay = test_delay();
    let w = Worker::start("spawner", QUEUE_DEPTH, move |program: Arc<Prepared>| {
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
        (super::start(&program), program)
    })?;
    *slot = Some((me, w.clone()));
    Ok(w)
}

#[cfg(debug_assertions)]
fn test_delay() -> Option<std::time::Duration> {
    let ms: u64 = std::env::var(TEST_DELAY_VAR).ok()?.parse().ok()?;
    Some(std::time::Duration::from_millis(ms))
}

#[cfg(not(debug_assertions))]
fn test_delay() -> Option<std::time::Duration> {
    let _ = TEST_DELAY_VAR;
    None
}

/// Queues the start of `program` now; the future resolves to the
/// started process or the start error.
pub(crate) fn submit(
    program: Arc<Prepared>,
) -> impl std::future::Future<Output = Result<Started, SpawnError>> + Send + use<> {
    let answer = spawner().map(|w| w.submit(program));
    async move {
        match answer {
            // The request is dropped here, on the asker's thread.
            Ok(a) => a.get().await.map_or_else(
                |Gone| {
                    Err(SpawnError::Start(io::Error::other(
                        "the spawner thread ended",
                    )))
                },
                |(started, _request)| started,
            ),
            Err(e) => Err(SpawnError::Start(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    }

    #[test]
    fn requests_are_served_in_the_order_they_were_made() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        // Depth 4 for 50 requests: most find the queue full and are sent
        // when awaited, which must not reorder them.
        let w = Worker::start("test-order", 4, move |n: u32| {
            log.lock().expect("lock").push(n);
            n * 10
        })
        .expect("worker");
        let answers: Vec<_> = (0..50).map(|n| w.submit(n)).collect();
        let got: Vec<u32> = rt().block_on(async {
            let mut out = Vec::new();
            for a in answers {
                out.push(a.get().await.expect("answered"));
            }
            out
        });
        assert_eq!(got, (0..50).map(|n| n * 10).collect::<Vec<_>>());
        assert_eq!(*seen.lock().expect("lock"), (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn each_error_reaches_its_own_asker() {
        let w = Worker::start("test-errors", 8, |n: u32| {
            if n.is_multiple_of(2) {
                Ok(n)
            } else {
                Err(format!("odd {n}"))
            }
        })
        .expect("worker");
        let answers: Vec<_> = (0..6).map(|n| w.submit(n)).collect();
        let got: Vec<Result<u32, String>> = rt().block_on(async {
            let mut out = Vec::new();
            for a in answers {
                out.push(a.get().await.expect("answered"));
            }
            out
        });
        assert_eq!(
            got,
            vec![
                Ok(0),
                Err("odd 1".into()),
                Ok(2),
                Err("odd 3".into()),
                Ok(4),
                Err("odd 5".into())
            ]
        );
    }

    /// Counts answers dropped without being claimed (what `Started`'s
    /// Drop turns into kill and reap).
    use crate::spawn::DropCounted as Tracked;

    #[test]
    fn an_abandoned_request_is_skipped_or_its_answer_undone() {
        let gate = Arc::new(Barrier::new(2));
        let handled = Arc::new(Mutex::new(Vec::new()));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (g, h, d) = (gate.clone(), handled.clone(), dropped.clone());
        let w = Worker::start("test-cancel", 8, move |n: u32| {
            if n == 0 {
                // Held until the test has abandoned requests 0 and 1.
                let _ = entered_tx.send(());
                g.wait();
            }
            h.lock().expect("lock").push(n);
            Tracked(d.clone())
        })
        .expect("worker");
        let first = w.submit(0);
        let second = w.submit(1);
        let third = w.submit(2);
        entered.recv().expect("0 is being handled");
        // 0 is being handled, 1 still queued: both abandoned.
        drop(first);
        drop(second);
        gate.wait();
        let kept = rt().block_on(third.get()).expect("answered");
        assert_eq!(
            *handled.lock().expect("lock"),
            vec![0, 2],
            "1 never started"
        );
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "0's answer undone");
        drop(kept);
        assert_eq!(dropped.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn queued_requests_are_served_after_the_last_handle_goes() {
        let gate = Arc::new(Barrier::new(2));
        let g = gate.clone();
        let w = Worker::start("test-shutdown", 8, move |n: u32| {
            if n == 0 {
                g.wait();
            }
            n
        })
        .expect("worker");
        let answers: Vec<_> = (0..3).map(|n| w.submit(n)).collect();
        drop(w);
        gate.wait();
        let got: Vec<u32> = rt().block_on(async {
            let mut out = Vec::new();
            for a in answers {
                out.push(a.get().await.expect("answered"));
            }
            out
        });
        assert_eq!(got, vec![0, 1, 2]);
    }

    #[test]
    fn a_dead_worker_answers_gone() {
        let w = Worker::start("test-gone", 8, |n: u32| {
            if n == 1 {
                // Unwinds without the panic hook: a printed backtrace
                // would map the binary's debug info, which the RssFile
                // test of mem.rs running next to this one would see.
                std::panic::resume_unwind(Box::new("handler failure"));
            }
            n
        })
        .expect("worker");
        let ok = w.submit(0);
        let lost = w.submit(1);
        let rt = rt();
        assert_eq!(rt.block_on(ok.get()), Ok(0));
        assert_eq!(rt.block_on(lost.get()), Err(Gone));
        assert_eq!(rt.block_on(w.submit(2).get()), Err(Gone));
    }
}
