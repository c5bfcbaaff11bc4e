// SPDX-License-Identifier: Apache-2.0 OR MIT
//! When the first runs happen after a slow table: keepalived schedules its
//! checkers only once its table is in (check_daemon.c `start_check`:
//! `init_services`, then `register_checkers_thread`), so a table that
//! takes minutes does not leave every first run that fell in those
//! minutes overdue at once. The checker child postpones the pool's
//! schedule by the time its table took (`Pool::postpone_runs`).

use std::sync::Arc;
use std::time::Duration;

use keepalived_check::book::ConfigIdentity;
use keepalived_check::effect::Effect;
use keepalived_check::reconcile::Pool;
use keepalived_check::time::Instant;
mod support;
use support::load;

const CONFIG: &str = "
virtual_server 192.0.2.1 80 {
    delay_loop 10
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 8001 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.2 8002 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.3 8003 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
";

/// The pool at `Instant::ZERO`, every first run at 1 s + half the warmup
/// (warmup = delay_loop = 10 s): at 6 s.
fn started() -> Pool {
    let mut half = |w: Duration| w / 2;
    let (pool, _) = Pool::start(
        Arc::new(load(CONFIG)),
        &mut ConfigIdentity,
        Instant::ZERO,
        &mut half,
    );
    pool
}

fn launches(out: &[Effect]) -> usize {
    out.iter().filter(|e| matches!(e, Effect::Probe(_))).count()
}

fn secs(s: f64) -> Instant {
    Instant::from_secs_f64(s)
}

#[test]
fn without_a_postponement_the_first_runs_are_at_six_seconds() {
    let mut pool = started();
    assert_eq!(pool.next_deadline(), Some(secs(6.0)));
    assert_eq!(launches(&pool.poll(secs(6.0))), 3);
}

#[test]
fn a_table_that_took_a_minute_moves_the_first_runs_a_minute_later() {
    let mut pool = started();
    pool.postpone_runs(Duration::from_secs(60));
    assert_eq!(pool.next_deadline(), Some(secs(66.0)));
    // At the table's end (60 s) nothing is overdue: no burst.
    assert_eq!(launches(&pool.poll(secs(60.0))), 0);
    assert_eq!(launches(&pool.poll(secs(65.9))), 0);
    assert_eq!(launches(&pool.poll(secs(66.0))), 3);
}

#[test]
fn a_run_in_flight_keeps_its_schedule() {
    let mut pool = started();
    let out = pool.poll(secs(6.0));
    assert_eq!(launches(&out), 3);
    // Every checker is running: nothing to move, nothing due.
    pool.postpone_runs(Duration::from_secs(60));
    assert_eq!(pool.next_deadline(), None);
}

/// The same config with a fourth real server, reloaded.
fn with_a_fourth() -> String {
    CONFIG.replacen(
        "    real_server 198.51.100.3 8003 {",
        "    real_server 198.51.100.4 8004 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.3 8003 {",
        1,
    )
}

/// keepalived 2.2.7 does the same on reload as at start: `reload_check_
/// thread` calls `start_check`, which applies the diff (`init_services`)
/// and only then registers every checker (`register_checkers_thread`,
/// whose `thread_add_timer` reads the clock then). So a diff that takes
/// 30 s moves the runs of kept and new checkers alike 30 s later, runs
/// that were in flight at the reload included (the reload drops them).
#[test]
fn a_reload_whose_diff_took_half_a_minute_moves_every_run_as_at_start() {
    let mut pool = started();
    assert_eq!(
        launches(&pool.poll(secs(6.0))),
        3,
        "in flight at the reload"
    );
    let mut half = |w: Duration| w / 2;
    pool.reload(
        Arc::new(load(&with_a_fourth())),
        &mut ConfigIdentity,
        secs(20.0),
        &mut half,
    );
    // Without the postponement: 20 s + 1 s + half the warmup.
    assert_eq!(pool.next_deadline(), Some(secs(26.0)));
    pool.postpone_runs(Duration::from_secs(30));
    assert_eq!(pool.next_deadline(), Some(secs(56.0)));
    assert_eq!(
        launches(&pool.poll(secs(50.0))),
        0,
        "nothing overdue at the diff's end"
    );
    assert_eq!(launches(&pool.poll(secs(55.9))), 0);
    assert_eq!(launches(&pool.poll(secs(56.0))), 4, "kept and new checkers");
}
