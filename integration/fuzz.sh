#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Coverage-guided fuzzing for a bounded time. Targets:
#   config       the config front end (preprocessor, grammar, reader,
#                validation); seeds: the config corpus
#   vrrp_decode  the VRRP receive path (decode_v4 / decode_v6, validation,
#                counters, re-encoding); seeds: adverts captured from
#                keepalived 2.2.7 (fuzz/seeds/vrrp_decode)
#   http_response  the HTTP_GET / SSL_GET answer decoder (head, status,
#                Content-Length, MD5, regex; split into reads at random
#                points); seeds: fuzz/seeds/http_response
#   dns_answer   the resolver's answer reader for real servers named by
#                DNS (A, AAAA, SRV questions); no seeds
#   checker_replies  what DNS_CHECK, SMTP_CHECK and UDP_CHECK read from a
#                server (DNS answer judge, SMTP line reader and status,
#                UDP require_reply pattern and matching)
#   ipvs_decode  the IPVS generic netlink answer decoder (framing, then
#                services, destinations, sync daemon, timeouts, info)
#   control_request  the control socket's request line decoder
#   local_events  what the VRRP child reads about its own box: proc
#                connector datagrams, /proc/PID/stat, a track_file's
#                content, a command line matched by vrrp_track_process
# Fails if the fuzzer finds a crash, a timeout or a memory blow-up.
#
#   integration/fuzz.sh [SECONDS] [TARGET|all]
#   FUZZ_RUNS=10000000 integration/fuzz.sh 3600 vrrp_decode   # a campaign:
#                whichever of SECONDS or FUZZ_RUNS inputs comes first
#
# `all` (the default) gives config, whose input space is far larger,
# SECONDS/2, and shares the other half among the seven decoders; config
# runs beside the decoders (one libFuzzer process per core), so the
# whole takes about SECONDS/2 of wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
TARGET=${2:-all}
RUNS=()
[[ -z ${FUZZ_RUNS:-} ]] || RUNS=(-runs="$FUZZ_RUNS")
ROOT=$PWD
SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT

# What `cargo fuzz build -O -s none` does, without having to compile and
# install cargo-fuzz first (about a hundred crates on a fresh machine):
# a release build of the fuzz crate with libFuzzer's coverage
# instrumentation (8-bit counters, PC table, compare tracing, stack depth)
# and `--cfg fuzzing`. `--target` keeps these flags off build scripts and
# proc macros. No sanitizer (`-s none`): the code the targets reach is safe
# Rust of ours (unsafe is denied outside crates/sys' syscall wrappers, which
# no target calls), so AddressSanitizer only watched dependencies, for a slower
# build and fewer executions per second; a panic still aborts and is
# caught, and libFuzzer's own interceptors still trace memcmp. One cargo
# invocation builds every target (docs/benchmarks.md, "CI cost").
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Ccodegen-units=1 --cfg fuzzing"
build() { # target|all
  local bins=(--bins)
  [[ $1 == all ]] || bins=(--bin "$1")
  cargo build --manifest-path fuzz/Cargo.toml --release --target "$TRIPLE" \
    --config 'profile.release.debug="line-tables-only"' "${bins[@]}"
}

seed() {
  mkdir -p "$SEEDS/$1"
  case "$1" in
    config)
      find integration/configs -name '*.conf' -type f -exec cp -t "$SEEDS/$1" {} + 2>/dev/null || true
      cp keepalived.conf.example "$SEEDS/$1/" 2>/dev/null || true ;;
    *)
      cp -t "$SEEDS/$1" "fuzz/seeds/$1"/* 2>/dev/null || true ;;
  esac
}

run() { # target seconds
  seed "$1"
  mkdir -p "fuzz/corpus/$1" "fuzz/artifacts/$1"
  # The corpus dir comes first: libFuzzer adds what it finds there. A
  # crash (a panic aborts) is written under fuzz/artifacts and exits
  # non-zero; -rss_limit_mb and -timeout turn blow-ups and hangs into
  # failures too.
  # libFuzzer's own output is kept whole: a failure that leaves no
  # artifact (a signal from outside, an exit of libFuzzer's own) shows its
  # last lines, each prefixed so that run-tests' filter lets them through.
  local out="fuzz/artifacts/$1/last-run.log" rc=0
  "fuzz/target/$TRIPLE/release/$1" -artifact_prefix="fuzz/artifacts/$1/" \
      -max_total_time="$2" "${RUNS[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      "fuzz/corpus/$1" "$SEEDS/$1" 2>"$out" || rc=$?
  cat "$out" >&2
  if ((rc != 0)); then
    echo "fuzz $1: FAILED (exit $rc); the input is in fuzz/artifacts/$1/ (replay: fuzz/target/$TRIPLE/release/$1 FILE)" >&2
    tail -n 30 "$out" | sed "s/^/fuzz $1: | /" >&2
    return 1
  fi
  echo "fuzz $1: ${2}s, no crash"
}

case "$TARGET" in
  all)
    DECODERS=(vrrp_decode http_response dns_answer checker_replies ipvs_decode control_request local_events)
    CONFIG_SECS=$(( SECS / 2 ))
    (( CONFIG_SECS >= 1 )) || CONFIG_SECS=1
    EACH=$(( (SECS - CONFIG_SECS) / ${#DECODERS[@]} ))
    (( EACH >= 1 )) || EACH=1
    build all
    # A libFuzzer process uses one core: config runs on one while the
    # decoders take turns on the other, so the section takes half of
    # SECS on two cores with the same time per target. config's output
    # is held back and shown after the decoders', whole.
    cfg_out=$SEEDS/config.out
    run config "$CONFIG_SECS" >"$cfg_out" 2>&1 &
    cfg=$!
    rc=0
    for t in "${DECODERS[@]}"; do
      cd "$ROOT"
      run "$t" "$EACH" || rc=1
    done
    wait "$cfg" || rc=1
    cat "$cfg_out"
    exit "$rc" ;;
  *)
    build "$TARGET"
    run "$TARGET" "$SECS" ;;
esac
