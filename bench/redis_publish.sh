#!/usr/bin/env bash
# Publish throughput of the Redis backend (issue 4), and the ceiling it is
# measured against, in one run.
#
# Starts a private redis-server (AOF on, appendfsync everysec unless FSYNC
# says otherwise, loopback, temporary directory) and build/rtdemo on it,
# drives POST /send with wrk (bench/wrk_send.lua) at 1, 8 and 64 concurrent
# publishers, then runs redis-benchmark on the same redis-server with XADD
# (MAXLEN ~ 1000, 64-byte field) at the same concurrency, no pipelining.
# Prints a table with the ratio send/s ÷ XADD/s: how much of raw Redis
# throughput survives HTTP parsing, the Lua publish script (epoch check +
# XADD + age trim) and the pool.
#
# Usage: bench/redis_publish.sh           (environment overrides below)
#   BUILD=build  SECS=10  CONNS="1 8 64"  FSYNC=everysec  XADD_N=200000
# Needs wrk, curl, redis-server and redis-benchmark. Not a test: numbers
# depend on the machine, and rtdemo, wrk and Redis share its cores.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RTDEMO=${RTDEMO:-$BUILD/rtdemo}
SECS=${SECS:-10}
CONNS=${CONNS:-"1 8 64"}
FSYNC=${FSYNC:-everysec}
XADD_N=${XADD_N:-200000}
WRK_SCRIPT="$ROOT/bench/wrk_send.lua"

for tool in wrk curl redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "redis_publish.sh: $tool is required (apt-get install wrk redis-server redis-tools)" >&2; exit 2; }
done
[[ -x $RTDEMO ]] || { echo "redis_publish.sh: $RTDEMO is missing; build it first" >&2; exit 2; }

DIR=$(mktemp -d /tmp/rtdemo-redis-bench-XXXXXX)
SERVER_PID= REDIS_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [[ -n $REDIS_PID ]] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$DIR" --appendonly yes \
  --appendfsync "$FSYNC" --save '' --daemonize no --logfile "$DIR/redis.log" &
REDIS_PID=$!
for _ in $(seq 200); do
  [[ $(redis-cli -p "$RPORT" ping 2>/dev/null) == PONG ]] && break
  sleep 0.05
done

PORT=$(free_port)
# Enough pool threads for every wrk connection: POCO keeps one thread per
# keep-alive connection.
"$RTDEMO" --config "$ROOT/etc/rtdemo.properties" --backend redis --port "$PORT" \
  -D rtdemo.redis.port="$RPORT" -D rtdemo.redis.prefix=bench: \
  -D rtdemo.http.threads=96 -D rtdemo.demo.interval.seconds=0 \
  -D rtdemo.log.level=warning 2>"$DIR/server.out" &
SERVER_PID=$!
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "rtdemo did not start:" >&2; cat "$DIR/server.out" >&2; exit 1; }

# 64-byte payload, as in bench/run.sh scenario 7.
DATA=$(printf 'x%.0s' $(seq 64))
export WRK_BODY="channel=wrk&data=$DATA"

declare -A SEND XADD
for c in $CONNS; do
  t=$(( c < 2 ? c : 2 ))
  wrk -t"$t" -c"$c" -d"${SECS}s" -s "$WRK_SCRIPT" "http://127.0.0.1:$PORT/send" >"$DIR/wrk.out" 2>&1
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$DIR/wrk.out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$DIR/wrk.out")
  SEND[$c]=${rps:-0}
  echo "send publishers=$c publishes_per_sec=${rps:-0} non_2xx=${non2xx:-0}" >&2
done
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=

for c in $CONNS; do
  out=$(redis-benchmark -p "$RPORT" -c "$c" -n "$XADD_N" -q \
        XADD bench:raw MAXLEN '~' 1000 '*' d "$DATA" 2>&1 | tr '\r' '\n' | grep -i 'requests per second' | tail -1)
  XADD[$c]=$(echo "$out" | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')
  echo "xadd clients=$c $out" >&2
done

echo
echo "Redis publish throughput: POST /send ${SECS}s per point, redis-benchmark XADD x$XADD_N; $(nproc) cores, appendfsync $FSYNC"
printf '%-11s %10s %10s %12s\n' publishers "send/s" "XADD/s" "send÷XADD"
for c in $CONNS; do
  printf '%-11s %10.0f %10.0f %12.2f\n' "$c" "${SEND[$c]}" "${XADD[$c]}" \
    "$(awk -v a="${SEND[$c]}" -v b="${XADD[$c]}" 'BEGIN {print (b > 0 ? a / b : 0)}')"
done
