#!/usr/bin/env bash
# Installs what the browser tests need, and only what is missing: Debian's
# chromium and firefox-esr (Playwright's and Puppeteer's own browser downloads
# cannot work here) and the npm packages pinned in package-lock.json
# (playwright-core drives chromium, puppeteer-core drives firefox-esr over
# WebDriver BiDi). CTest runs it as the fixture of the `browser` tests; the
# project's setup and CI can run it too.
#   setup.sh            both browsers and the npm packages
#   setup.sh chromium   chromium and the npm packages
#   setup.sh firefox    firefox-esr and the npm packages
set -euo pipefail
cd "$(dirname "$0")"

only="${1:-all}"
case "$only" in
  all | chromium | firefox) ;;
  *) echo "usage: $0 [chromium|firefox]" >&2; exit 2 ;;
esac

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if [ "$only" != firefox ] && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
if [ "$only" != chromium ] && [ ! -x "${FIREFOX:-/usr/bin/firefox-esr}" ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends firefox-esr
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
