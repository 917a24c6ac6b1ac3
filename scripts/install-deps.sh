#!/usr/bin/env bash
# Installs what rtdemo needs from Debian 12 packages, and only what is
# missing, so it is cheap to run before every build.
#   scripts/install-deps.sh          build and run dependencies
#   scripts/install-deps.sh --test   also what the tests need (GoogleTest,
#                                    redis-server, Chromium, Firefox ESR, Node.js,
#                                    systemd-analyze, systemd-nspawn and
#                                    sqlite3 for the container tests,
#                                    dpkg-shlibdeps, clang
#                                    and libFuzzer for scripts/fuzz.sh,
#                                    libseccomp for the io_uring fallback test)
set -euo pipefail

packages=(build-essential cmake pkg-config libpoco-dev libhiredis-dev libsystemd-dev liburing-dev)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(googletest libgtest-dev redis-server chromium firefox-esr nginx-light libnginx-mod-nchan wrk
            systemd systemd-container sqlite3 dpkg-dev caddy clang libclang-rt-14-dev libseccomp-dev)
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
