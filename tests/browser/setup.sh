#!/usr/bin/env bash
# Installs what the browser tests need, and only what is missing: Debian's
# chromium (Playwright's own browser download cannot work here) and the npm
# packages pinned in package-lock.json. CTest runs it as the fixture of every
# `browser` test; the project's setup and CI can run it too.
set -euo pipefail
cd "$(dirname "$0")"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
if ! command -v npm >/dev/null; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
fi
# npm ci wipes node_modules, so run it only when the lock file is newer than
# the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
