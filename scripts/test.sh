#!/usr/bin/env bash
# One command that installs, builds and runs every test: unit, the Broker
# contract on each backend, integration against the real binary, Redis
# against a redis-server the tests start, systemd and packaging checks, the
# browser tests in headless Chromium and Firefox, the proxy tests in headless
# Chromium, the docs checks, then the fuzz targets for a bounded number of
# runs and every C++ test executable again under AddressSanitizer +
# UndefinedBehaviorSanitizer (scripts/sanitize.sh says which are left out).
#   scripts/test.sh             everything (what CI runs)
#   scripts/test.sh -L redis    only ctest, with these arguments
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 600 "$@")
if [[ $# -eq 0 ]]; then
  scripts/fuzz.sh
  scripts/sanitize.sh
fi
