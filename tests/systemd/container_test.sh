#!/usr/bin/env bash
# The container fixture itself (container.sh), checked before anything is
# tested on it (CTest label systemd):
#   1. a container boots to "running" with a real systemd as PID 1, in
#      cgroup2 mode, with only journald, dbus and logind running and no
#      failed unit; systemctl and journalctl work inside;
#   2. its network is its own loopback: no other interface, no route, so
#      nothing inside reaches outside 127.0.0.0/8;
#   3. the host's /usr is read-only inside; with --dpkg it is writable, and
#      what is written stays in the container;
#   4. after each run no process, mount, cgroup or directory of the
#      container is left (container.sh checks it, and so does this script,
#      from outside);
#   5. a container that cannot boot makes the fixture fail, saying why, and
#      leaves nothing behind either.
# Usage: container_test.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixture="$here/container.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The fixture's own lines name the machine; check from outside that nothing
# of it is left.
assert_gone() {
  local log=$1 name dir
  name=$(sed -n 's/^container \[[^]]*\]: \(rtdemo-[a-z0-9]*\) booted.*/\1/p' "$log" | head -1)
  [[ -n "$name" ]] || { cat "$log" >&2; fail "no 'booted' line in the fixture's output"; }
  for dir in /sys/fs/cgroup/systemd/nspawn-"$name" /sys/fs/cgroup/unified/nspawn-"$name"; do
    [[ ! -e "$dir" ]] || fail "$dir is left behind"
  done
  if grep -ls "nspawn-$name" /proc/[0-9]*/cgroup 2>/dev/null | grep -q .; then
    fail "processes of $name are left behind"
  fi
  if grep -q rtdemo-ct /proc/self/mountinfo; then
    # Another test's container may be running; only ours must be gone.
    for dir in $(awk '$5 ~ /rtdemo-ct/ { print $5 }' /proc/self/mountinfo); do
      [[ $(cat "$dir/name" 2>/dev/null) != "$name" ]] || fail "the mount $dir of $name is left"
    done
  fi
  echo "ok: $name left no process, mount or cgroup"
}

# 1-3, inside a plain container.
cat >"$tmp/inside.sh" <<'EOF'
set -euo pipefail
ct() { "$FIXTURE" exec "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(ct readlink /proc/1/exe) == /usr/lib/systemd/systemd ]] || fail "PID 1 is not systemd"
[[ $(ct stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || fail "not in cgroup2 mode"
[[ $(ct systemctl is-system-running) == running ]] || fail "not running"
running=$(ct systemctl list-units --type=service --state=running --no-legend --plain |
          awk '{ print $1 }' | sort | tr '\n' ' ')
[[ "$running" == "dbus.service systemd-journald.service systemd-logind.service " ]] ||
  fail "services running besides journald, dbus and logind: $running"
[[ -z $(ct systemctl list-units --failed --no-legend --plain) ]] || fail "a unit failed"
# (Captured first: under pipefail, grep -q quitting early fails the pipe.)
journal=$(ct journalctl -b --no-pager -q)
grep -q 'Reached target.*Multi-User' <<<"$journal" ||
  fail "journalctl shows no boot reaching multi-user.target"
echo "ok: systemd is PID 1 (cgroup2), running, only journald, dbus and logind, journal readable"

links=$(ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
[[ "$links" == "lo " ]] || fail "interfaces besides lo: $links"
[[ -z $(ip route show) ]] || fail "a route out: $(ip route show)"
grep -q 'inet 127.0.0.1/8' <<<"$(ct ip -o addr show lo)" || fail "no 127.0.0.1 inside"
err=$(ct bash -c 'exec 3<>/dev/tcp/192.0.2.1/80' 2>&1) && fail "reached 192.0.2.1"
grep -q 'unreachable' <<<"$err" || fail "connecting out did not fail as unreachable: $err"
echo "ok: only loopback; connecting out fails: ${err##*: }"

if [[ "$WRITABLE" == 1 ]]; then
  ct touch /usr/share/rtdemo-ct-probe || fail "/usr not writable with --dpkg"
  [[ ! -e /usr/share/rtdemo-ct-probe ]] || fail "a write to /usr inside reached the host"
  [[ $(ct dpkg-query -W -f='${Status}' systemd) == 'install ok installed' ]] ||
    fail "no dpkg database inside"
  echo "ok: --dpkg: /usr writable inside, the host's unchanged; dpkg database present"
else
  ct touch /usr/share/rtdemo-ct-probe 2>/dev/null && fail "/usr is writable inside"
  echo "ok: /usr read-only inside"
fi
EOF

for writable in 0 1; do
  opts=()
  [[ $writable == 1 ]] && opts=(--dpkg)
  FIXTURE="$fixture" WRITABLE=$writable "$fixture" run "${opts[@]}" -- bash "$tmp/inside.sh" \
    2>&1 | tee "$tmp/run$writable.log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || fail "the run ${opts[*]:-without options} failed"
  grep -q 'torn down: no process, mount or cgroup left' "$tmp/run$writable.log" ||
    fail "the fixture did not report a clean teardown"
  assert_gone "$tmp/run$writable.log"
done

# 5. A boot that cannot happen: nspawn refuses a bind of a missing path.
if "$fixture" run --bind-ro=/nonexistent-rtdemo-ct:/srv/x -- true >"$tmp/bad.log" 2>&1; then
  cat "$tmp/bad.log" >&2
  fail "the fixture succeeded although the container could not boot"
fi
grep -q 'did not start systemd' "$tmp/bad.log" || { cat "$tmp/bad.log" >&2; fail "no reason given"; }
grep -q 'nonexistent-rtdemo-ct' "$tmp/bad.log" || { cat "$tmp/bad.log" >&2; fail "nspawn's error not shown"; }
echo "ok: a container that cannot boot fails the fixture: $(grep -m1 -i 'nonexistent' "$tmp/bad.log")"
if ls -d "${TMPDIR:-/tmp}"/rtdemo-ct.* 2>/dev/null | while read -r d; do
     [[ -d /proc/$(cat "$d/launcher.pid" 2>/dev/null || echo x) ]] || echo "$d"; done | grep -q .; then
  fail "the failed boot left its directory"
fi
echo "ok: and leaves nothing behind"
