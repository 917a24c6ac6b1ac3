#!/usr/bin/env bash
# Runs the Durable Streams conformance suite against the real build/rtdemo
# on one backend, next to the npm reference server in the same run, and
# prints both counts side by side (run.mjs).
#   tests/conformance/rtdemo.sh RTDEMO_BINARY memory|sqlite|redis [run.mjs args...]
# rtdemo listens on a port the OS picks (rtdemo.port-file); SQLite gets a
# fresh file; Redis gets a private redis-server on a free port. The publish
# rate limit is off: the suite sends thousands of requests from one address.
# Exit status: run.mjs's (0 when every run completed).
set -euo pipefail
bin="$1"; backend="$2"; shift 2
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d /tmp/rtdemo-conformance-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

args=(--backend="$backend" -D rtdemo.port=0 -D "rtdemo.port-file=$dir/port"
      -D rtdemo.limits.send.rate=0 -D rtdemo.demo.interval.seconds=0
      -D "rtdemo.sqlite.path=$dir/history.db" -D rtdemo.log.level=warning)
if [[ "$backend" == redis ]]; then
  command -v redis-server >/dev/null ||
    { echo "conformance: redis-server not found; run scripts/install-deps.sh --test" >&2; exit 1; }
  redis-server --port 0 --unixsocket "$dir/redis.sock" --save '' --appendonly no \
    --dir "$dir" >"$dir/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [[ -S "$dir/redis.sock" ]] && break; sleep 0.1; done
  [[ -S "$dir/redis.sock" ]] ||
    { echo "conformance: redis-server did not start:" >&2; cat "$dir/redis.log" >&2; exit 1; }
  # A TCP port for rtdemo: ask the running server to listen on one.
  rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-cli -s "$dir/redis.sock" config set port "$rport" >/dev/null
  args+=(-D rtdemo.redis.host=127.0.0.1 -D "rtdemo.redis.port=$rport")
fi
"$bin" "${args[@]}" 2>"$dir/rtdemo.log" &
pids+=($!)
for _ in $(seq 200); do [[ -s "$dir/port" ]] && break; sleep 0.05; done
if [[ ! -s "$dir/port" ]]; then
  echo "conformance: rtdemo ($backend) did not start:" >&2; cat "$dir/rtdemo.log" >&2; exit 1
fi
port=$(tr -d '\n' <"$dir/port")
node "$here/run.mjs" "$@" "http://127.0.0.1:$port" || status=$?
if grep -q . "$dir/rtdemo.log"; then
  echo "--- rtdemo ($backend) stderr, last 20 lines:"; tail -n 20 "$dir/rtdemo.log"
fi
exit "${status:-0}"
