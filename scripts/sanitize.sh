#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer (CMakePresets.json,
# preset "asan", into build-asan/) and runs the tests under them; the rtdemo
# binary those tests start is sanitized too.
#
# What runs: every test executable of tests/CMakeLists.txt (the target
# sanitized_tests), so each new test is sanitized unless marked NO_SANITIZE
# there: the unit, memory, integration, WebSocket, auth, SQLite, Redis, chaos
# and resource-bounds labels. Left to the normal run, because building and
# running them twice does not fit CI's time budget on 2 cores, or because a
# sanitizer changes what they measure: the browser, proxy, systemd, container,
# packaging and benchmark parts, and the capacity tests (speed under 2,000
# connections). The fuzz targets have their own sanitized build
# (scripts/fuzz.sh). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan "$@"
