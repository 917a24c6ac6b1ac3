#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and
# runs each from its seed corpus for a bounded time. Fails on any crash,
# sanitizer report or broken invariant (each target aborts when its contract
# breaks; fuzz/CMakeLists.txt lists them and what each asserts).
#   scripts/fuzz.sh                    every target (CI)
#   scripts/fuzz.sh ws_frame cursor    only these
#   FUZZ_SECONDS=600 FUZZ_RUNS=0 scripts/fuzz.sh ws_frame   a longer hunt
# The targets are fuzz/<name>_fuzz.cc, built as fuzz_<name>, seeded from
# fuzz/corpus/<name>/.
#
# Bounds: each target stops at FUZZ_RUNS runs (default 2,000,000) or
# FUZZ_SECONDS seconds (default 24), whichever comes first, so the fuzzing
# takes at most 8 x 25 s = 3 min 20 s. Measured on the 2-core reference
# machine, ASan+UBSan at -O1, from an empty build-fuzz/: the build takes
# 19 s on a quiet machine and 3 min with other jobs on it, so the script
# takes 3.5-6 min. Rates on the quiet machine (runs/s): cursor 125,000 (it
# ends on the run bound, in 16 s), next_poll 44,000, sse_encoder 24,000,
# send_request 16,000, ws_frame 14,000 (three decodes per input), ws_command
# 12,700 (POCO's JSON parser): 380,000-1,300,000 runs per target; measured
# with other jobs on the machine, client_address 19,000 and jwt 2,100 (POCO's
# JWT and JSON parsers, and two HMACs per input). Lower
# FUZZ_SECONDS when a target is added, to stay within the ~6 minutes of the
# CI budget (30 min) this step has. 0 for either bound means no bound.
#
# New inputs libFuzzer finds go to a temporary directory, never into the
# committed corpus; copy interesting ones there by hand. An input that breaks
# a target is kept in build-fuzz/artifacts/ (crash-<sha1>), to replay with
#   build-fuzz/fuzz/fuzz_<name> build-fuzz/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${FUZZ_RUNS:-2000000}"
[[ "$runs" == 0 ]] && runs=-1  # libFuzzer's "no bound"
seconds="${FUZZ_SECONDS:-24}"
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for src in fuzz/*_fuzz.cc; do
    name="$(basename "$src" _fuzz.cc)"
    targets+=("$name")
  done
fi
for t in "${targets[@]}"; do
  [[ -d "fuzz/corpus/$t" ]] || { echo "fuzz: no seed corpus fuzz/corpus/$t" >&2; exit 1; }
done
CXX=clang++ CC=clang cmake -S . -B build-fuzz -DRTDEMO_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 --target "${targets[@]/#/fuzz_}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p build-fuzz/artifacts
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  echo "fuzz: $target, at most $runs runs or $seconds s"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ASAN_OPTIONS=detect_leaks=1 \
    "build-fuzz/fuzz/fuzz_$target" "$work/$target" "fuzz/corpus/$target" \
      -runs="$runs" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 2>&1 | tail -n 12
  # libFuzzer exits non-zero on a finding; pipefail carries it here.
done
echo "fuzz: no crash, no sanitizer report, no broken contract"
