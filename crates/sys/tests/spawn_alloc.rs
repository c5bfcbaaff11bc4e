// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The spawner thread neither allocates nor frees heap memory once it
//! runs: everything a start needs is built, and freed again, on the
//! thread that asks for it (`keepalived_sys::spawn`). A thread that
//! calls malloc or free gets a glibc arena of its own, and whatever it
//! allocates per start is work the asking loop pays for in wake-ups and
//! cache misses.
//!
//! A counting global allocator keyed by thread id counts the heap calls
//! made on the thread named `spawner`, over script starts of every kind
//! the daemon makes: by name (a PATH walk), by path, a file without `#!`
//! (the `/bin/sh` fallback), a program that does not exist (an error
//! every interval for a broken vrrp_script), a user switch, and a burst
//! of a hundred runs of one prepared script at once, as a hundred
//! vrrp_scripts at `interval 1` (they wait in the queue together).
//!
//! On main before branch spawnfree (the environment, argv and PATH
//! candidates built on the spawner thread) it counted 90 408 allocations
//! and 60 490 frees; with a `tokio::sync::oneshot` for the answer, 10 to
//! 13 frees (the sender's last reference); with a tokio mpsc channel
//! for the queue, 1 free in 4 runs of 6 (a block it could not recycle).
//!
//! Its own test binary (the allocator is the binary's), one test: no
//! other test's thread can be the spawner.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::scripts::{rt, write_file};

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use keepalived_sys::script::{ScriptOutcome, ScriptSpec, ScriptUser, spawn};

/// The thread whose heap calls are counted (0: none yet).
static WATCHED: AtomicI32 = AtomicI32::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static FREES: AtomicUsize = AtomicUsize::new(0);

struct Counting;

#[allow(unsafe_code)]
fn note(counter: &AtomicUsize) {
    let watched = WATCHED.load(Ordering::Relaxed);
    // gettid is a bare system call: nothing here may allocate.
    // SAFETY: no arguments, no memory touched.
    if watched != 0 && unsafe { libc::gettid() } == watched {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(&ALLOCS);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(&ALLOCS);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(&ALLOCS);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(&FREES);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// The thread id of this process's thread named `spawner`.
fn spawner_tid() -> i32 {
    let found: Vec<i32> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "spawner")
        })
        .filter_map(|t| t.file_name().to_str()?.parse().ok())
        .collect();
    assert_eq!(found.len(), 1, "one spawner thread: {found:?}");
    found[0]
}

#[test]
fn the_spawner_thread_does_not_touch_the_heap() {
    common::require_root();
    let dir = tempfile::tempdir().unwrap();
    // No `#!`: the kernel refuses it (ENOEXEC), /bin/sh runs it.
    let bare = write_file(dir.path(), "bare", "exit 0\n", 0o755);
    let mut by_name = ScriptSpec::new(["true"]);
    by_name.timeout = Some(std::time::Duration::from_secs(5));
    let by_path = ScriptSpec::new(["/bin/true", "an", "argument"]);
    let mut no_shebang = ScriptSpec::new([bare.as_os_str()]);
    no_shebang.noexec_fallback = Some(vec![
        "/bin/sh".into(),
        "-c".into(),
        bare.as_os_str().to_owned(),
    ]);
    let missing = ScriptSpec::new(["/nonexistent/keepalived-rs-spawn-alloc"]);
    let mut as_nobody = ScriptSpec::new(["/bin/true"]);
    as_nobody.user = Some(ScriptUser {
        uid: 65534,
        gid: 65534,
        groups: vec![65534],
    });
    as_nobody.env = vec![("A_VARIABLE".into(), "set".into())];
    let specs = [&by_name, &by_path, &no_shebang, &as_nobody];
    // As the VRRP child runs a vrrp_script: prepared once, run often.
    let tracked = by_path.prepare().unwrap();

    let rt = rt();
    let round = || {
        rt.block_on(async {
            for spec in specs {
                let run = spawn(spec).await.unwrap();
                assert_eq!(run.wait().await.unwrap(), ScriptOutcome::Exited(0));
            }
            assert!(spawn(&missing).await.is_err(), "it does not exist");
            // A hundred at once, as a hundred vrrp_scripts at the same
            // interval: they wait in the queue together.
            let starts: Vec<_> = (0..100).map(|_| tracked.spawn()).collect();
            for s in starts {
                let run = s.await.unwrap();
                assert_eq!(run.wait().await.unwrap(), ScriptOutcome::Exited(0));
            }
        });
    };
    // The first starts set the thread up (its stack, thread-locals):
    // not steady state.
    round();
    round();
    WATCHED.store(spawner_tid(), Ordering::SeqCst);
    for _ in 0..3 {
        round();
    }
    WATCHED.store(0, Ordering::SeqCst);
    let (allocs, frees) = (ALLOCS.load(Ordering::SeqCst), FREES.load(Ordering::SeqCst));
    assert_eq!(
        (allocs, frees),
        (0, 0),
        "heap calls on the spawner thread over 3 x 105 starts: {allocs} allocations, {frees} frees"
    );
}
