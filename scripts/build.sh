#!/usr/bin/env bash
# Configures and builds rtdemo into build/ (the binary lands at build/rtdemo).
# Two jobs: the reference machine has 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
# BUILD_TESTING=OFF (scripts/run.sh) builds without GoogleTest and the other
# test-only packages; scripts/test.sh leaves it on.
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DBUILD_TESTING="${BUILD_TESTING:-ON}" >/dev/null
cmake --build build -j2 "$@"
