# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034
# What the benchmarks run in the interop lab share (integration/bench/
# vrrp-*.sh, track-*.sh, through integration/bench/lib.sh). Sourced
# after common.sh, lab.sh, peer.sh and wire.sh.

bench_cleanup() { local rc=$?; set +e; cap_stop; lab_down; exit "$rc"; }

# bench_begin NAME: BASE (this run's directory under $RUN_BASE), the lab up
# and torn down on exit, RUN_DIR for the probe, and impls: the
# implementations of $IMPLS to measure. keepalived-rs is left out, with a
# NOTE saying why, when it cannot hold a VIP here (rs_speaks_vrrp).
bench_begin() { # name
    local impl why
    BASE=${RUN_BASE:-/tmp/kalrs-interop}/bench-$1-$(date +%Y%m%d-%H%M%S)-$$
    mkdir -p "$BASE"
    chmod 0755 "${RUN_BASE:-/tmp/kalrs-interop}" "$BASE"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    lab_up
    RUN_DIR=$BASE/probe
    mkdir -p "$RUN_DIR"
    impls=()
    for impl in $IMPLS; do
        if [[ $impl != rs ]]; then
            impls+=("$impl")
        elif why=$(rs_speaks_vrrp 2>&1); then
            impls+=(rs)
        else
            echo "NOTE: keepalived-rs left out of this run: ${why##*$'\n'}"
            echo "NOTE: figures below are keepalived only (no ratio)."
        fi
    done
}
