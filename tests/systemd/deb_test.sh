#!/usr/bin/env bash
# The Debian package, built and used as a user would get it (CTest label
# package):
#   1. `cpack -G DEB` in the build directory, into a temporary directory;
#   2. the package declares its library dependencies (dpkg-shlibdeps) and
#      its configuration as a conffile, and holds every file in its Debian
#      place; the installed configuration names the installed web files and
#      the state directory; the unit inside passes systemd-analyze verify;
#   3. `dpkg-deb -x` into a temporary root, then the unpacked binary runs on
#      the unpacked configuration, with the two paths redirected into that
#      root, and serves / and /events (a message published on /send arrives).
# Usage: deb_test.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?build dir}" && pwd)
tmp=$(mktemp -d)
server_pid=
curl_pid=
cleanup() {
  [[ -n "$curl_pid" ]] && kill "$curl_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill -KILL "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# 1. Build the package (into $tmp, leaving the build directory's own alone).
(cd "$build" && cpack -G DEB -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1) ||
  { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/pkg/rtdemo_*.deb 2>/dev/null | head -1)
[[ -f "$deb" ]] || fail "no rtdemo_*.deb in $tmp/pkg"
echo "ok: built $(basename "$deb")"

# 2. What the package declares and holds.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libpocofoundation libpoconet libsystemd0 libhiredis liburing; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (shlibdeps)"
done
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/rtdemo/rtdemo.properties "$tmp/control/conffiles" ||
  fail "/etc/rtdemo/rtdemo.properties is not a conffile"
for script in postinst prerm postrm; do
  [[ -x "$tmp/control/$script" ]] || fail "no executable $script"
  sh -n "$tmp/control/$script" || fail "$script does not parse"
done
echo "ok: Depends from shlibdeps, conffiles, maintainer scripts"

root="$tmp/root"
dpkg-deb -x "$deb" "$root"
for f in usr/bin/rtdemo usr/share/rtdemo/web/index.html usr/share/rtdemo/web/static/app.js \
         etc/rtdemo/rtdemo.properties lib/systemd/system/rtdemo.service \
         lib/systemd/system/rtdemo@.service \
         usr/share/doc/rtdemo/README.md; do
  [[ -e "$root/$f" ]] || fail "/$f missing from the package"
done
conf="$root/etc/rtdemo/rtdemo.properties"
grep -qx 'rtdemo.web.root = /usr/share/rtdemo/web' "$conf" ||
  fail "installed rtdemo.web.root is not /usr/share/rtdemo/web"
grep -qx 'rtdemo.sqlite.path = /var/lib/rtdemo/rtdemo.db' "$conf" ||
  fail "installed rtdemo.sqlite.path is not /var/lib/rtdemo/rtdemo.db"
grep -qx 'ExecStart=/usr/bin/rtdemo' "$root/lib/systemd/system/rtdemo.service" ||
  fail "the packaged unit does not start /usr/bin/rtdemo"
bash "$(dirname "$0")/unit_checks.sh" verify "$root/lib/systemd/system/rtdemo.service" \
  "$root/usr/bin/rtdemo" >"$tmp/verify.log" 2>&1 ||
  { cat "$tmp/verify.log" >&2; fail "the packaged unit does not verify"; }
grep -qx 'ExecStart=/usr/bin/rtdemo --port %i' "$root/lib/systemd/system/rtdemo@.service" ||
  fail "the packaged template does not start /usr/bin/rtdemo --port %i"
bash "$(dirname "$0")/unit_checks.sh" verify "$root/lib/systemd/system/rtdemo@.service" \
  "$root/usr/bin/rtdemo" >"$tmp/verify-template.log" 2>&1 ||
  { cat "$tmp/verify-template.log" >&2; fail "the packaged template unit does not verify"; }
echo "ok: files in their Debian places, installed paths, packaged unit verifies"

# 3. Run what was unpacked. Port 0: the OS picks one, the start line names it.
mkdir -p "$root/var/lib/rtdemo"
"$root/usr/bin/rtdemo" --config "$conf" --port 0 \
  -D "rtdemo.web.root=$root/usr/share/rtdemo/web" \
  -D "rtdemo.sqlite.path=$root/var/lib/rtdemo/rtdemo.db" \
  -D rtdemo.demo.interval.seconds=0 2>"$tmp/stderr" &
server_pid=$!
started() { grep -q 'listening on http://' "$tmp/stderr" || ! kill -0 "$server_pid" 2>/dev/null; }
wait_for 20 started || fail "rtdemo did not start"
kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/stderr" >&2; fail "rtdemo exited at start"; }
port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$tmp/stderr" | head -1)
grep -q "config $conf" "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "start line does not name $conf"; }
base="http://127.0.0.1:$port"

page=$(curl -fsS "$base/") || fail "GET / failed"
grep -qi '<html' <<<"$page" || fail "GET / is not the page"
curl -fsS -o /dev/null "$base/static/app.js" || fail "GET /static/app.js failed"
echo "ok: / serves the installed page"

curl -sSN --max-time 20 "$base/events?channel=deb" >"$tmp/events" 2>/dev/null &
curl_pid=$!
wait_for 10 grep -q '^: rtdemo' "$tmp/events" || fail "/events did not open"
curl -fsS -d 'channel=deb&data=from-the-package' "$base/send" >/dev/null || fail "POST /send"
wait_for 10 grep -qx 'data: from-the-package' "$tmp/events" ||
  { cat "$tmp/events" >&2; fail "the message did not arrive on /events"; }
echo "ok: /events delivers a message published on /send"

kill "$curl_pid" 2>/dev/null || true
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=
[[ $code -eq 0 ]] || fail "rtdemo exited with $code on SIGTERM"
echo "ok: clean stop"
