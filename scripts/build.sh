#!/usr/bin/env bash
# Configures and builds rtdemo into build/ (the binary lands at build/rtdemo).
# Two jobs: the reference machine has 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j2 "$@"
