#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer (CMakePresets.json,
# preset "asan", into build-asan/) and runs the unit, memory and integration
# labels under them; the rtdemo binary those tests start is sanitized too.
# The SQLite, Redis, browser and packaging parts are left to the normal run:
# building and running everything twice does not fit CI's time budget on
# 2 cores. The capacity tests (speed under 2,000 connections) are left out
# too: sanitizers slow every call several times over. Extra arguments go to
# ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan "$@"
