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
# Fails if the fuzzer finds a crash, a timeout or a memory blow-up.
#
#   integration/fuzz.sh [SECONDS] [TARGET|all]
#
# `all` (the default) runs every target within SECONDS in total: half for
# config, whose input space is far larger, the other half shared by the
# six decoders.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
TARGET=${2:-all}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
# cargo-fuzz passes -Z flags; RUSTC_BOOTSTRAP lets the stable toolchain
# (the only one on our machines) accept them.
export RUSTC_BOOTSTRAP=1
ROOT=$PWD
SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT

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
  mkdir -p "fuzz/corpus/$1"
  (cd fuzz && cargo fuzz build -O "$1" &&
    # -rss_limit_mb and -timeout turn blow-ups and hangs into failures.
    cargo fuzz run -O "$1" "corpus/$1" "$SEEDS/$1" -- \
      -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)
  echo "fuzz $1: ${2}s, no crash"
}

case "$TARGET" in
  all)
    DECODERS=(vrrp_decode http_response dns_answer checker_replies ipvs_decode control_request)
    CONFIG_SECS=$(( SECS / 2 ))
    (( CONFIG_SECS >= 1 )) || CONFIG_SECS=1
    EACH=$(( (SECS - CONFIG_SECS) / ${#DECODERS[@]} ))
    (( EACH >= 1 )) || EACH=1
    run config "$CONFIG_SECS"
    for t in "${DECODERS[@]}"; do
      cd "$ROOT"
      run "$t" "$EACH"
    done ;;
  *)
    run "$TARGET" "$SECS" ;;
esac
