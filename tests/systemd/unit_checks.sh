#!/usr/bin/env bash
# Offline checks of systemd/rtdemo.service and of the template
# systemd/rtdemo@.service (checked as its instance rtdemo@5001), run by CTest
# (label systemd):
#   unit_checks.sh verify   UNIT BINARY   systemd-analyze verify passes, with no
#                                          warning, and the unit has what issue 7
#                                          asks of it
#   unit_checks.sh security UNIT BINARY   systemd-analyze security --offline=true
#                                          rates it 2.0 or lower
# Both work without a running systemd (PID 1 may be anything): they read
# the unit file only. verify insists that ExecStart= names an executable,
# and the unit names the installed /usr/bin/rtdemo, so they check a copy that
# points at BINARY instead; nothing else changes.
set -euo pipefail

mode=${1:?mode}
unit=${2:?unit file}
bin=$(realpath "${3:?rtdemo binary}")
max_exposure=2.0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
name=$(basename "$unit")
state=rtdemo
args=
if [[ "$name" == *@.service ]]; then
  # A template is verified as one instance; the name is the port.
  name=${name%@.service}@5001.service
  state='rtdemo-%i'
  args=' --port %i'
fi
copy="$tmp/$name"
sed "s|^ExecStart=/usr/bin/rtdemo$args\$|ExecStart=$bin$args|" "$unit" > "$copy"
grep -qxF "ExecStart=$bin$args" "$copy" || { echo "FAIL: ExecStart=/usr/bin/rtdemo$args not found in $unit" >&2; exit 1; }

fail=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; fail=1; fi
}
has() { grep -qE "^$1\$" "$copy"; }

case "$mode" in
  verify)
    if ! out=$(systemd-analyze verify "$copy" 2>&1); then
      echo "FAIL: systemd-analyze verify:" >&2; echo "$out" >&2; exit 1
    fi
    # Unknown keys and bad values are only warnings to verify; they are
    # still mistakes in a unit we ship.
    if [[ -n "$out" ]]; then
      echo "FAIL: systemd-analyze verify printed:" >&2; echo "$out" >&2; exit 1
    fi
    echo "ok: systemd-analyze verify"
    check "Type=notify" has 'Type=notify'
    check "WatchdogSec=" has 'WatchdogSec=[1-9][0-9]*s?'
    check "Restart=on-failure" has 'Restart=on-failure'
    check "DynamicUser=yes" has 'DynamicUser=yes'
    check "StateDirectory=$state" has "StateDirectory=$state"
    check "ConfigurationDirectory=rtdemo" has 'ConfigurationDirectory=rtdemo'
    check "empty CapabilityBoundingSet=" has 'CapabilityBoundingSet='
    check "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
      has 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'
    for d in NoNewPrivileges ProtectHome PrivateTmp PrivateDevices MemoryDenyWriteExecute; do
      check "$d=yes" has "$d=yes"
    done
    check "ProtectSystem=strict" has 'ProtectSystem=strict'
    check "SystemCallFilter=@system-service" has 'SystemCallFilter=@system-service'
    # Not in @system-service; without it the filter's EPERM sends fan-out
    # back to one send() per socket.
    check "io_uring allowed for batched fan-out" has 'SystemCallFilter=io_uring_setup io_uring_enter'
    # The listening socket waits in the fd store across restarts.
    check "FileDescriptorStoreMax= keeps the port open across restarts" \
      has 'FileDescriptorStoreMax=[1-9][0-9]*'
    check "RestartPreventExitStatus=78: a refused configuration is not restarted" \
      has 'RestartPreventExitStatus=78'
    nofile=$(sed -n 's/^LimitNOFILE=\([0-9]*\)$/\1/p' "$copy")
    check "LimitNOFILE=${nofile:-?} covers 19,000 subscribers" test "${nofile:-0}" -ge 20000
    ;;
  security)
    out=$(systemd-analyze security --offline=true --no-pager "$copy" 2>&1) || {
      echo "FAIL: systemd-analyze security:" >&2; echo "$out" >&2; exit 1; }
    score=$(sed -n "s/.*Overall exposure level for ${name}: \\([0-9.]*\\).*/\\1/p" <<<"$out")
    if [[ -z "$score" ]]; then
      echo "FAIL: no exposure level in:" >&2; echo "$out" >&2; exit 1
    fi
    echo "exposure level: $score (at most $max_exposure)"
    # What is still exposed, for whoever tightens the unit next.
    grep '✗' <<<"$out" || true
    check "exposure $score <= $max_exposure" \
      awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s + 0 <= m + 0) }'
    ;;
  *)
    echo "unknown mode $mode" >&2; exit 2 ;;
esac
exit $fail
