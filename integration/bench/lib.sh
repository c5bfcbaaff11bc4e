# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034
# What the benchmarks run in the interop lab (vrrp-failover.sh,
# vrrp-resources.sh, track-react.sh, track-cost.sh) load: the lab's
# libraries (integration/interop/lib) and its bench.sh. Sourced.

# peer.sh defaults KALRS_BIN to a debug build: remember whether one was given.
KALRS_GIVEN=${KALRS_BIN:-}
INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../interop" && pwd)
# shellcheck source=../interop/lib/common.sh
source "$INTEROP_DIR/lib/common.sh"
# shellcheck source=../interop/lib/lab.sh
source "$INTEROP_DIR/lib/lab.sh"
# shellcheck source=../interop/lib/peer.sh
source "$INTEROP_DIR/lib/peer.sh"
# shellcheck source=../interop/lib/conf.sh
source "$INTEROP_DIR/lib/conf.sh"
# shellcheck source=../interop/lib/wire.sh
source "$INTEROP_DIR/lib/wire.sh"
# shellcheck source=../interop/lib/bench.sh
source "$INTEROP_DIR/lib/bench.sh"

# bench_release_build: unless KALRS_BIN was given or $IMPLS leaves rs out,
# build keepalived-rs in release mode and point KALRS_BIN at it.
bench_release_build() {
    [[ -z $KALRS_GIVEN && $IMPLS == *rs* ]] || return 0
    (cd "$REPO_ROOT" && cargo build --release -q -p keepalived-rs) || die "cargo build --release failed"
    KALRS_BIN=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/keepalived-rs
}
