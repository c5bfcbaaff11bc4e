#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Coverage-guided fuzzing of the config front end (preprocessor, grammar,
# reader, validation) for a bounded time. Seeds: the config corpus.
# Fails if the fuzzer finds a crash, a timeout or a memory blow-up.
#
#   integration/fuzz.sh [SECONDS] [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
TARGET=${2:-config}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
# cargo-fuzz passes -Z flags; RUSTC_BOOTSTRAP lets the stable toolchain
# (the only one on our machines) accept them.
export RUSTC_BOOTSTRAP=1
SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT
find integration/configs -name '*.conf' -type f -exec cp -t "$SEEDS" {} + 2>/dev/null || true
cp keepalived.conf.example "$SEEDS/" 2>/dev/null || true
mkdir -p fuzz/corpus/"$TARGET"
cd fuzz
cargo fuzz build -O "$TARGET"
# -rss_limit_mb and -timeout turn blow-ups and hangs into failures.
cargo fuzz run -O "$TARGET" corpus/"$TARGET" "$SEEDS" -- \
  -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
echo "fuzz $TARGET: ${SECS}s, no crash"
