// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Bytes per checker (issue 10: "the checkers add no more Pss than
//! keepalived's", 0.76 kB per checker in its checker process). A counting
//! allocator measures what a pool of N TCP_CHECKs keeps once started, and
//! what the decoded configuration model holds for them, so neither can
//! grow back unnoticed. The budgets are today's figures plus a small
//! margin: raise one only with a reason in docs/benchmarks.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use keepalived_check::book::{Book, Build, ConfigIdentity};
use keepalived_check::machine::Start;
use keepalived_check::reconcile::Pool;
use keepalived_check::time::Instant;
use keepalived_config::model::Config;

mod support;
use support::load;

/// Live heap bytes of the whole test binary (one test in this binary, so
/// nothing else allocates meanwhile).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
/// What the same live allocations take in glibc's heap: each is a chunk
/// of its size plus an 8-byte header, rounded up to 16, at least 32.
static CHUNKS: AtomicIsize = AtomicIsize::new(0);
/// Live allocations.
static COUNT: AtomicIsize = AtomicIsize::new(0);

fn chunk(layout: Layout) -> isize {
    ((layout.size() + 8).div_ceil(16) * 16).max(32) as isize
}

// A global allocator can only be written as an unsafe impl.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_add(chunk(layout), Ordering::Relaxed);
        COUNT.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_sub(chunk(layout), Ordering::Relaxed);
        COUNT.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// `services` x 10 real servers, a TCP_CHECK on each with a target of its
/// own, as integration/bench/gen-lvs-config.py writes them.
fn config_text(services: usize, checkers: bool) -> String {
    let mut t = String::from("global_defs {\n router_id footprint\n}\n");
    for s in 0..services {
        let port = 1000 + s;
        let _ = writeln!(
            t,
            "virtual_server 192.0.2.1 {port} {{\n lb_algo rr\n lb_kind NAT\n protocol TCP"
        );
        for r in 1..=10 {
            if !checkers {
                let _ = writeln!(t, " real_server 198.51.100.{r} {port} {{\n  weight 1\n }}");
                continue;
            }
            let _ = writeln!(
                t,
                " real_server 198.51.100.{r} {port} {{\n  weight 1\n  TCP_CHECK {{\n   \
                 connect_port {}\n   connect_timeout 5\n   delay_loop 120\n   warmup 120\n   \
                 retry 1\n   delay_before_retry 1\n  }}\n }}",
                20000 + s
            );
        }
        t.push_str("}\n");
    }
    t
}

struct Footprint {
    model: usize,
    pool: usize,
    /// Of `pool`, the health book alone (entries, names, index).
    book: usize,
    /// The model of a real server without checkers (its virtual server's
    /// share included).
    real_server: usize,
    /// What the child keeps of the model once the pool is started
    /// ([`Pool::release_build_model`]), per real server with its checker.
    kept: usize,
    /// What the started pool and the model it keeps take in glibc's heap
    /// (chunk headers and rounding included), per checker.
    chunks: usize,
    /// How many allocations that is, per checker.
    allocations: f64,
}

/// The supervisor's snapshot of `text`, as the children receive it.
fn snapshot(text: &str) -> Vec<u8> {
    serde_json::to_vec(&load(text)).expect("the model encodes")
}

/// The model as the children keep it: decoded from the snapshot, then
/// cut to size.
fn loaded(snapshot: &[u8]) -> Config {
    let mut config: Config = serde_json::from_slice(snapshot).expect("the snapshot decodes");
    config.shrink_to_fit();
    config
}

fn model_bytes(text: &str) -> isize {
    let snapshot = snapshot(text);
    let before = live();
    let config = loaded(&snapshot);
    let held = live() - before;
    drop(config);
    held
}

/// Heap bytes per checker of the configuration model and of a started
/// pool over it (the start's effects dropped, as the child drops them).
fn measure(services: usize) -> Footprint {
    let text = config_text(services, true);
    let checkers = services * 10;
    let bare = model_bytes(&config_text(services, false));
    let model = model_bytes(&text) - bare;
    let snapshot = snapshot(&text);
    let unloaded = live();
    let (chunks0, count0) = (
        CHUNKS.load(Ordering::Relaxed),
        COUNT.load(Ordering::Relaxed),
    );
    let config = Arc::new(loaded(&snapshot));
    let before = live();
    let mut jitter = |_: Duration| Duration::ZERO;
    // The pool holds the only reference, as in the child.
    let (mut pool, effects) = Pool::start(config, &mut ConfigIdentity, Instant::ZERO, &mut jitter);
    drop(effects);
    let held = live() - before;
    let config = pool.release_build_model();
    let kept = live() - unloaded - held;
    let chunks = CHUNKS.load(Ordering::Relaxed) - chunks0;
    let allocations = COUNT.load(Ordering::Relaxed) - count0;
    drop(config);
    drop(pool);
    // The book alone, built from a whole model (the pool's is stripped).
    let config = loaded(&snapshot);
    let mut identify = ConfigIdentity;
    let before = live();
    let mut build = Build::new(
        &config,
        Start::Cold,
        Instant::ZERO,
        &mut jitter,
        &mut identify,
    );
    let book = Book::build(&config, &mut build);
    drop(build);
    let book_held = live() - before;
    drop(book);
    Footprint {
        model: model as usize / checkers,
        pool: held as usize / checkers,
        book: book_held as usize / checkers,
        real_server: bare as usize / checkers,
        kept: kept as usize / checkers,
        chunks: chunks as usize / checkers,
        allocations: allocations as f64 / checkers as f64,
    }
}

/// The budgets, in bytes per checker (one TCP_CHECK per real server),
/// measured at 446, 160 and 199 (2026-12-05, branch chkmem4: what a real
/// server sets for its checkers boxed, `RealServer` 240 -> 128 B, 311 B
/// of model per real server before; branch poolmem: real-server
/// names kept as parts, the real-server index as sorted digests, the last
/// result time read from the machine, the timer heap sized, a real
/// server's entry without a copy of its virtual server's id; 637 before
/// it, 858 before branch chkmem; the model's 160 and 311 from branch
/// chkmem2, 296 and about 439 before it, 1 184 before chkmem).
const POOL_BUDGET: usize = 460;
const MODEL_BUDGET: usize = 175;
const REAL_SERVER_BUDGET: usize = 215;
/// What the child keeps of the model per real server with its checker:
/// no more than a real server without one (branch chkmem4, measured at
/// 199; 311 in branch chkmem3; 471 = 160 + 311 when the whole model was
/// kept).
const KEPT_BUDGET: usize = REAL_SERVER_BUDGET;

#[test]
fn bytes_per_checker_stay_within_budget() {
    let f = measure(1_000);
    eprintln!(
        "per checker: pool {} B (book {} B), configuration model {} B, kept once started {} B; \
         real server model {} B; pool and kept model in glibc's chunks {} B in {:.1} allocations",
        f.pool, f.book, f.model, f.kept, f.real_server, f.chunks, f.allocations
    );
    assert!(
        f.pool <= POOL_BUDGET,
        "the started pool holds {} B per checker (budget {POOL_BUDGET} B)",
        f.pool
    );
    assert!(
        f.model <= MODEL_BUDGET,
        "the configuration model holds {} B per checker (budget {MODEL_BUDGET} B)",
        f.model
    );
    assert!(
        f.kept <= KEPT_BUDGET,
        "the checker child keeps {} B of model per checker once its pool is started \
         (budget {KEPT_BUDGET} B): is the checkers' model retained again?",
        f.kept
    );
    assert!(
        f.real_server <= REAL_SERVER_BUDGET,
        "the configuration model holds {} B per real server (budget {REAL_SERVER_BUDGET} B)",
        f.real_server
    );
}

/// The per-checker structs themselves: a field added to one of them shows
/// here first, before it shows in the bytes per checker above.
#[test]
fn per_checker_structs_stay_small() {
    use keepalived_check::book::{CheckerEntry, RsEntry};
    use keepalived_check::machine::Machine;
    use keepalived_config::model::checker::Checker;
    use keepalived_config::model::lvs::RealServer;
    let sizes = [
        ("CheckerEntry", size_of::<CheckerEntry>(), 256),
        ("Machine", size_of::<Machine>(), 200),
        ("RsEntry", size_of::<RsEntry>(), 88),
        ("model Checker", size_of::<Checker>(), 160),
        ("model RealServer", size_of::<RealServer>(), 128),
    ];
    for (name, size, budget) in sizes {
        assert!(size <= budget, "{name} is {size} bytes (budget {budget})");
    }
}
