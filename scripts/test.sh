#!/usr/bin/env bash
# One command that installs, builds and runs every test: unit, the Broker
# contract on each backend, integration against the real binary, Redis
# against a redis-server the tests start, and the browser tests in
# headless Chromium. Extra arguments go to ctest, e.g. scripts/test.sh -L redis
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
cd build
ctest --output-on-failure -j2 --timeout 600 "$@"
