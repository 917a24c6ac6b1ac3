#!/usr/bin/env bash
# The systemd container fixture: a real systemd booted as PID 1 in a
# systemd-nspawn container, for the tests that need rtdemo under a real
# service manager (Type=notify, the watchdog, Restart=, the unit's sandbox,
# socket activation, the journal). The recipe and its two traps are in
# /work/shared/notes/systemd-in-container.md; in short:
#   - the root is small and built here: empty directories, bin/sbin/lib as
#     links into /usr, a copy of the host's /etc with every enabled service
#     stripped (only journald, dbus and logind come up), a real os-release
#     and a fresh machine-id;
#   - the host's /usr is bind-mounted read-only, or with --dpkg it is the
#     lower layer of an overlay (the upper layer lives in the fixture's
#     directory) and the host's /var/lib/dpkg is copied in, so `dpkg -i`
#     works and changes nothing of the host;
#   - --private-network always: the container has only its own loopback, so
#     nothing in it reaches outside 127.0.0.0/8 or collides with the host's
#     ports, and two containers can run at once. The command under test runs
#     on the host but inside the container's network namespace, so a browser
#     it starts reaches rtdemo on the container's 127.0.0.1;
#   - nspawn runs in cgroups of its own (nspawn-NAME in both of the host's
#     hierarchies), with --register=no --keep-unit (there is no host bus)
#     and SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 (cgroup2 inside; in v1 mode a
#     stop now and then hangs for 90 s);
#   - teardown: SIGTERM to nspawn (an orderly shutdown), SIGKILL to only the
#     nspawn and init PIDs it started if that takes too long, then the
#     cgroups (deepest first) and the directory. It then checks that no
#     mount, cgroup or process of the container is left, and fails if one is.
# It never touches the host's own services, and fails (never skips) when the
# container does not boot.
#
# Usage:
#   container.sh run [--dpkg] [--bind-ro=SRC[:DST]]... -- COMMAND [ARG]...
#       boots a container, runs COMMAND on the host in the container's network
#       namespace with CT_PID1 (the container's init, as the host sees it),
#       CT_NAME and CT_ROOT (the root directory, on the host) in its
#       environment, tears down, and exits with COMMAND's status (1 if the
#       boot or the teardown failed).
#   container.sh exec COMMAND [ARG]...
#       runs COMMAND inside the container named by CT_PID1 (all namespaces,
#       a clean environment); what COMMAND prints and exits with.
# Sourced, it defines the same as functions (container_boot, ct,
# container_teardown) for a script that wants several steps.
# Needs root and systemd-nspawn (package systemd-container).

ct_path=/usr/sbin:/usr/bin:/sbin:/bin

# ct COMMAND...: COMMAND inside the container (mount, UTS, IPC, network and
# PID namespaces of its init), with only PATH in the environment, as a shell
# inside it would run it.
ct() {
  : "${CT_PID1:?CT_PID1 is not set: not inside container.sh run}"
  nsenter -t "$CT_PID1" -m -u -i -n -p -- env -i PATH="$ct_path" "$@"
}

ct_log() { echo "container [$(date +%T.%3N)]: $*" >&2; }

# The children of PID $1.
ct_children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'; }

# Removes what an earlier run left behind when it was killed before its
# teardown (a CTest timeout sends SIGKILL): directories whose launcher is
# gone, and their cgroups if empty. A live run's cgroups are not empty, so
# rmdir leaves them alone.
ct_reap_stale() {
  local dir pid name
  for dir in "${TMPDIR:-/tmp}"/rtdemo-ct.*; do
    [[ -f "$dir/launcher.pid" && -f "$dir/name" ]] || continue
    pid=$(<"$dir/launcher.pid")
    name=$(<"$dir/name")
    [[ -d /proc/$pid ]] && continue
    # An init whose nspawn died with SIGKILL lives on; it is ours to end.
    pid=$(cat "$dir/init.pid" 2>/dev/null) || pid=
    if [[ -n "$pid" ]] && ct_is_init "$pid" "$name"; then
      kill -KILL "$pid"
      while [[ -d /proc/$pid ]]; do sleep 0.05; done
    fi
    ct_remove_cgroups "$name"
    umount "$dir" 2>/dev/null
    rm -rf "$dir"
  done
}

# True if PID $1 is the init of machine $2 (and not a reused PID).
ct_is_init() {
  [[ $(readlink "/proc/$1/exe" 2>/dev/null) == /usr/lib/systemd/systemd ]] &&
    grep -qs "/nspawn-$2/" "/proc/$1/cgroup"
}

ct_cgroup_dirs() {  # the fixture's cgroup directories for machine $1
  echo "/sys/fs/cgroup/systemd/nspawn-$1" "/sys/fs/cgroup/unified/nspawn-$1"
}

ct_remove_cgroups() {
  local d
  for d in $(ct_cgroup_dirs "$1"); do
    [[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}

ct_cgroups_busy() {  # true while a process is in machine $1's cgroups
  local f
  for f in $(find $(ct_cgroup_dirs "$1") -name cgroup.procs 2>/dev/null); do
    [[ -n $(head -c1 "$f" 2>/dev/null) ]] && return 0
  done
  return 1
}

# Builds the root in $CT_ROOT (see the top of the file).
ct_build_root() {
  local with_dpkg=$1 r=$CT_ROOT l
  mkdir -p "$r"
  (cd "$r" && mkdir etc var tmp run proc sys dev root srv)
  for l in bin sbin lib lib64; do ln -s "usr/$l" "$r/$l"; done
  cp -a /etc/. "$r/etc/"
  # The host's enabled units (caddy, nginx, redis...) must not boot here.
  find "$r/etc/systemd/system" -mindepth 1 -maxdepth 1 ! -name '*.conf' -exec rm -rf {} +
  ln -s /lib/systemd/system/multi-user.target "$r/etc/systemd/system/default.target"
  rm -f "$r"/etc/rc?.d/S*
  # nspawn looks for os-release before /usr is mounted, so not the link.
  rm -f "$r/etc/os-release"
  cp /usr/lib/os-release "$r/etc/os-release"
  # A machine-id makes this an ordinary boot, not a first boot.
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$r/etc/machine-id"
  echo >>"$r/etc/machine-id"
  echo "$CT_NAME" >"$r/etc/hostname"
  if [[ "$with_dpkg" == 1 ]]; then
    mkdir -p "$r/var/lib" "$CT_DIR/usr-upper"
    cp -a /var/lib/dpkg "$r/var/lib/dpkg"
  fi
}

# container_boot [--dpkg] [--bind-ro=...]...: boots a container and sets
# CT_NAME, CT_DIR, CT_ROOT, CT_NSPAWN (nspawn's PID) and CT_PID1. Returns
# non-zero, having said why and torn down, if it does not reach "running".
container_boot() {
  local with_dpkg=0 binds=() a
  for a in "$@"; do
    case "$a" in
      --dpkg) with_dpkg=1 ;;
      --bind-ro=*) binds+=("$a") ;;
      *) ct_log "unknown option $a"; return 2 ;;
    esac
  done
  [[ $(id -u) -eq 0 ]] || { ct_log "needs root"; return 1; }
  command -v systemd-nspawn >/dev/null ||
    { ct_log "systemd-nspawn not found (scripts/install-deps.sh --test installs systemd-container)"; return 1; }
  ct_reap_stale
  CT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rtdemo-ct.XXXXXX")
  # A tmpfs of its own: building the root (with --dpkg, 40 MB of dpkg
  # database) and removing it take seconds on a busy disk, and no time here.
  mount -t tmpfs -o mode=0700,size=1g rtdemo-ct "$CT_DIR" || { rmdir "$CT_DIR"; return 1; }
  # Machine names are host names: short, letters, digits and dashes.
  CT_NAME="rtdemo-${CT_DIR##*.}"
  CT_NAME=${CT_NAME,,}
  CT_ROOT="$CT_DIR/root"
  echo "$CT_NAME" >"$CT_DIR/name"
  ct_build_root "$with_dpkg"

  local usr=(--bind-ro=/usr)
  [[ "$with_dpkg" == 1 ]] && usr=("--overlay=/usr:$CT_DIR/usr-upper:/usr")
  local cg
  (
    for cg in $(ct_cgroup_dirs "$CT_NAME"); do
      mkdir -p "$cg" && echo "$BASHPID" >"$cg/cgroup.procs"
    done
    # If this script dies (a CTest timeout kills it), nspawn gets SIGTERM
    # and shuts the container down; the next run reaps the rest.
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec setpriv --pdeathsig TERM -- \
      systemd-nspawn -q -D "$CT_ROOT" -M "$CT_NAME" \
      "${usr[@]}" "${binds[@]}" --private-network --register=no --keep-unit \
      --console=pipe --boot
  ) </dev/null >"$CT_DIR/nspawn.log" 2>&1 &
  CT_NSPAWN=$!
  echo "$CT_NSPAWN" >"$CT_DIR/launcher.pid"

  # Its init is the child of nspawn that runs systemd.
  CT_PID1=
  local deadline=$((SECONDS + 30)) c
  while [[ -z "$CT_PID1" ]]; do
    for c in $(ct_children "$CT_NSPAWN"); do
      [[ $(readlink "/proc/$c/exe" 2>/dev/null) == /usr/lib/systemd/systemd ]] && CT_PID1=$c
    done
    [[ -n "$CT_PID1" ]] && break
    if ! kill -0 "$CT_NSPAWN" 2>/dev/null || ((SECONDS > deadline)); then
      ct_log "systemd-nspawn did not start systemd; its output:"
      cat "$CT_DIR/nspawn.log" >&2
      container_teardown
      return 1
    fi
    sleep 0.05
  done
  echo "$CT_PID1" >"$CT_DIR/init.pid"
  export CT_PID1 CT_NAME CT_ROOT
  # systemctl answers once PID 1 has opened its private socket; --wait then
  # returns when the boot is over.
  # systemctl answers once PID 1 has opened its private socket (before that
  # it says "offline"); --wait then returns when the boot is over.
  local state
  deadline=$((SECONDS + 60))
  while :; do
    state=
    [[ -S /proc/$CT_PID1/root/run/systemd/private ]] &&
      state=$(timeout 60 nsenter -t "$CT_PID1" -m -u -i -n -p -- env -i PATH="$ct_path" \
                systemctl is-system-running --wait 2>&1)
    [[ "$state" == "" || "$state" == offline* ]] && ((SECONDS < deadline)) &&
      kill -0 "$CT_NSPAWN" 2>/dev/null || break
    sleep 0.05
  done
  if [[ "$state" != running ]]; then
    ct_log "the container's systemd is '$state', not 'running':"
    ct systemctl --failed --no-pager >&2 || true
    cat "$CT_DIR/nspawn.log" >&2
    container_teardown
    return 1
  fi
  if [[ "$with_dpkg" == 1 ]]; then
    # The host's /usr/sbin/policy-rc.d (a build-container convention) tells
    # maintainer scripts not to start services; a Debian host has none.
    ct rm -f /usr/sbin/policy-rc.d
  fi
}

# Stops the container and removes all of it; then checks that nothing is
# left, and returns non-zero (saying what) if something is.
container_teardown() {
  [[ -n "${CT_DIR:-}" ]] || return 0
  local deadline pid leftovers=()
  if [[ -n "${CT_NSPAWN:-}" ]] && kill -0 "$CT_NSPAWN" 2>/dev/null; then
    kill -TERM "$CT_NSPAWN"
    deadline=$((SECONDS + 20))
    while kill -0 "$CT_NSPAWN" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    if kill -0 "$CT_NSPAWN" 2>/dev/null; then
      ct_log "no orderly shutdown within 20 s; SIGKILL to nspawn $CT_NSPAWN and init ${CT_PID1:-?}"
      kill -KILL "$CT_NSPAWN" ${CT_PID1:+"$CT_PID1"} 2>/dev/null
    fi
    wait "$CT_NSPAWN" 2>/dev/null
  fi
  # nspawn gone (it may have been killed) but its init not: end it.
  if [[ -n "${CT_PID1:-}" ]] && ct_is_init "$CT_PID1" "$CT_NAME"; then
    ct_log "init $CT_PID1 outlived nspawn; SIGKILL"
    kill -KILL "$CT_PID1"
  fi
  # A killed init is gone once reaped, and the kernel empties a cgroup a
  # moment after its last process exits.
  deadline=$((SECONDS + 10))
  while { [[ -d /proc/${CT_PID1:-none} ]] || ct_cgroups_busy "$CT_NAME"; } &&
        ((SECONDS < deadline)); do
    sleep 0.05
  done
  ct_remove_cgroups "$CT_NAME"
  umount "$CT_DIR" && rmdir "$CT_DIR"

  for pid in ${CT_NSPAWN:-} ${CT_PID1:-}; do
    [[ -d /proc/$pid ]] && leftovers+=("process $pid")
  done
  for pid in $(grep -ls "nspawn-$CT_NAME" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3); do
    leftovers+=("process $pid in the container's cgroup")
  done
  for d in $(ct_cgroup_dirs "$CT_NAME"); do [[ -e "$d" ]] && leftovers+=("cgroup $d"); done
  grep -q " $CT_DIR" /proc/self/mountinfo && leftovers+=("a mount under $CT_DIR")
  [[ -e "$CT_DIR" ]] && leftovers+=("directory $CT_DIR")
  CT_DIR=
  if ((${#leftovers[@]})); then
    ct_log "left behind after teardown: ${leftovers[*]}"
    return 1
  fi
}

container_run() {
  local opts=()
  while [[ $# -gt 0 && "$1" != -- ]]; do opts+=("$1"); shift; done
  [[ "${1:-}" == -- ]] || { ct_log "usage: container.sh run [OPTIONS] -- COMMAND..."; return 2; }
  shift
  trap 'container_teardown' EXIT
  trap 'exit 143' TERM INT
  container_boot "${opts[@]}" || return 1
  ct_log "$CT_NAME booted (init $CT_PID1, nspawn $CT_NSPAWN)"
  local rc=0
  nsenter -t "$CT_PID1" -n -- "$@" || rc=$?
  trap - EXIT
  container_teardown || { ((rc == 0)) && rc=1; }
  ((rc == 0)) && ct_log "$CT_NAME torn down: no process, mount or cgroup left"
  return $rc
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -uo pipefail
  case "${1:-}" in
    run) shift; container_run "$@"; exit ;;
    exec) shift; ct "$@"; exit ;;
    *) echo "usage: $0 run [--dpkg] [--bind-ro=SRC[:DST]]... -- COMMAND... | exec COMMAND..." >&2
       exit 2 ;;
  esac
fi
