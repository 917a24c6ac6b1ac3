#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and
# runs each for a bounded number of runs from the seed corpus in
# fuzz/corpus/. Fails on any crash, sanitizer report or broken invariant.
#   scripts/fuzz.sh            500000 runs per target (CI, about a minute)
#   FUZZ_RUNS=2000000 scripts/fuzz.sh
# New inputs libFuzzer finds go to a temporary directory, never into the
# committed corpus; copy interesting ones there by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${FUZZ_RUNS:-500000}"
CXX=clang++ CC=clang cmake -S . -B build-fuzz -DRTDEMO_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 --target fuzz_sse_encoder fuzz_send_request fuzz_next_poll
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in sse_encoder send_request next_poll; do
  mkdir -p "$work/$target"
  echo "fuzz: $target, $runs runs"
  # -max_total_time bounds a slow machine; the runs bound a fast one.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ASAN_OPTIONS=detect_leaks=1 \
    "build-fuzz/fuzz/fuzz_$target" "$work/$target" "fuzz/corpus/$target" \
      -runs="$runs" -max_total_time="${FUZZ_SECONDS:-90}" -max_len=4096 -timeout=10 \
      -artifact_prefix="$work/" -print_final_stats=1 2>&1 | tail -n 12
  # libFuzzer exits non-zero on a finding; pipefail carries it here.
done
echo "fuzz: no crash, no sanitizer report"
