// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Starts served by the spawner thread, with real processes, while every
//! start is held 300 ms (the debug-build hook standing in for a starved
//! machine's slow exec):
//!
//! * the caller's thread is not held: a loop ticking every 10 ms on the
//!   same current-thread runtime keeps ticking while starts wait;
//! * starts run in the order they were asked for;
//! * a start given up on while queued never runs, one given up on while
//!   it was being served is killed and reaped: nothing is left running,
//!   no zombie;
//! * a timeout counts from the request, not from the exec.
//!
//! Its own test binary: the hook is read once per process, and "no
//! zombie" is a property of the whole process. The tests take one lock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::scripts::{rt, write_script, zombie_children};

use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use keepalived_sys::script::{ScriptOutcome, ScriptSpec, leftovers_of, spawn};

const HOLD: Duration = Duration::from_millis(300);

static SERIAL: Mutex<()> = Mutex::new(());
static HOOK: Once = Once::new();

fn serial() -> MutexGuard<'static, ()> {
    HOOK.call_once(|| {
        // SAFETY (edition 2024 marks set_var unsafe): set once, before the
        // first start of this process, under the lock every test takes.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(
                "KEEPALIVED_RS_TEST_SPAWN_DELAY_MS",
                HOLD.as_millis().to_string(),
            );
        }
    });
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Our children that are zombies, and live processes we started.
fn left_over() -> (Vec<u32>, Vec<u32>) {
    (zombie_children(), leftovers_of(std::process::id()))
}

#[test]
fn the_loop_keeps_ticking_and_starts_keep_their_order() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("order");
    let script = write_script(
        dir.path(),
        "note.sh",
        &format!("echo $1 >> {}", log.display()),
    );
    let rt = rt();
    let (ticks, outcomes) = rt.block_on(async {
        let starts: Vec<_> = (0..4)
            .map(|i| {
                let mut spec = ScriptSpec::new([script.as_os_str()]);
                spec.argv.push(i.to_string().into());
                spawn(&spec)
            })
            .collect();
        let runs = async {
            let mut out = Vec::new();
            for s in starts {
                out.push(s.await.unwrap().wait().await.unwrap());
            }
            out
        };
        tokio::pin!(runs);
        // The loop: with the start on this thread it could not tick
        // during the 4 × 300 ms the starts are held.
        let mut ticks = Vec::new();
        let mut last = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        loop {
            tokio::select! {
                out = &mut runs => break (ticks, out),
                _ = tick.tick() => {
                    ticks.push(last.elapsed());
                    last = Instant::now();
                }
            }
        }
    });
    assert_eq!(outcomes, vec![ScriptOutcome::Exited(0); 4]);
    let order = std::fs::read_to_string(&log).unwrap();
    assert_eq!(order, "0\n1\n2\n3\n", "started in request order");
    let worst = ticks.iter().max().copied().unwrap_or_default();
    assert!(
        ticks.len() >= 60 && worst < Duration::from_millis(150),
        "the loop stalled while starts were held: {} ticks, worst gap {worst:?}",
        ticks.len()
    );
}

#[test]
fn abandoned_starts_leave_nothing_behind() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("second-ran");
    let sleeper = write_script(dir.path(), "sleeper.sh", "exec sleep 30");
    let second = write_script(
        dir.path(),
        "second.sh",
        &format!("touch {}", marker.display()),
    );
    let rt = rt();
    rt.block_on(async {
        let first = spawn(&ScriptSpec::new([sleeper.as_os_str()]));
        let queued = spawn(&ScriptSpec::new([second.as_os_str()]));
        // Let the spawner take the first one (it is held HOLD before its
        // clone), then give up on both: the first is started for nobody,
        // the second is still queued.
        tokio::time::sleep(HOLD / 3).await;
        drop(first);
        drop(queued);
        // A third start proves the spawner went on, and waits for it.
        let third = spawn(&ScriptSpec::new(["/bin/true"])).await.unwrap();
        assert_eq!(third.wait().await.unwrap(), ScriptOutcome::Exited(0));
    });
    assert!(!marker.exists(), "a start given up on while queued ran");
    assert_eq!(
        left_over(),
        (vec![], vec![]),
        "zombies, live processes left by abandoned starts"
    );
}

#[test]
fn the_timeout_counts_from_the_request() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // Ends 0.9 s after its exec, 1.2 s after the request: inside a 1 s
    // timeout counted from the exec, past one counted from the request.
    let script = write_script(dir.path(), "slow.sh", "sleep 0.9");
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.timeout = Some(Duration::from_secs(1));
    spec.kill_grace = Duration::from_millis(200);
    let outcome = rt().block_on(async { spawn(&spec).await.unwrap().wait().await.unwrap() });
    assert_eq!(outcome, ScriptOutcome::TimedOut);
    assert_eq!(left_over(), (vec![], vec![]));
}
