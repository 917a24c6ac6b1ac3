#!/usr/bin/env bash
# Installs the npm packages the conformance tests need, pinned in
# package-lock.json: the suite (@durable-streams/server-conformance-tests),
# vitest that runs it, and the reference server (@durable-streams/server).
# With a directory argument, the packages pinned there instead
# (tests/interop/: the npm client).
# Node.js and npm come from scripts/install-deps.sh --test. CTest runs this as
# the fixture of the `conformance` tests, so a fresh clone needs no other step;
# it never asks a question, so it runs as root with no terminal.
set -euo pipefail
cd "${1:-$(dirname "$0")}"
command -v npm >/dev/null || { echo "conformance setup: npm not found; run scripts/install-deps.sh --test" >&2; exit 1; }
# npm ci wipes node_modules, so run it only when the lock file is newer than
# the last install. The packages need no install scripts (lmdb and esbuild
# ship prebuilt binaries as optional packages), so none are run.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --ignore-scripts
fi
