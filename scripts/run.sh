#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running rtdemo: installs
# what is missing, builds, and serves http://localhost:5000 on the default
# backend from etc/rtdemo.properties. Extra arguments go to rtdemo, e.g.
#   scripts/run.sh --port 5050 --backend memory
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The tests are not built here, so their packages are not needed.
BUILD_TESTING=OFF scripts/build.sh --target rtdemo
mkdir -p var
exec build/rtdemo "$@"
