#!/usr/bin/env bash
# Publish throughput of the SQLite backend (issue 3), and the ceiling it is
# measured against, in one run.
#
# For synchronous=full and =normal: starts build/rtdemo on a fresh database,
# drives POST /send with wrk (bench/wrk_send.lua) at 1, 8 and 64 concurrent
# publishers, stops it, then runs rtdemo_sqlite_bench on the same disk with
# the same settings: a plain single-connection insert loop, one transaction
# per insert, then batched. Prints a table with the ratios:
#   send / per-insert  > 1 means group commit beats one commit per message;
#   send / batched     is how close HTTP + rtdemo get to raw batched SQLite.
#
# Usage: bench/sqlite_publish.sh           (environment overrides below)
#   BUILD=build  SECS=10  CONNS="1 8 64"  MODES="full normal"  BATCH=64
#   DIR=<a directory on the disk to measure; default: a new one under /var/tmp>
# Needs wrk and curl. Not a test: numbers depend on the machine and its disk.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RTDEMO=${RTDEMO:-$BUILD/rtdemo}
PLAIN=${PLAIN:-$BUILD/bench/rtdemo_sqlite_bench}
SECS=${SECS:-10}
CONNS=${CONNS:-"1 8 64"}
MODES=${MODES:-"full normal"}
BATCH=${BATCH:-64}
WRK_SCRIPT="$ROOT/bench/wrk_send.lua"

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "sqlite_publish.sh: $tool is required" >&2; exit 2; }
done
for bin in "$RTDEMO" "$PLAIN"; do
  [[ -x $bin ]] || { echo "sqlite_publish.sh: $bin is missing; build it first" >&2; exit 2; }
done

DIR=${DIR:-$(mktemp -d /var/tmp/rtdemo-sqlite-bench-XXXXXX)}
mkdir -p "$DIR"
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -f "$DIR"/history.db* "$DIR"/plain.db* "$DIR"/*.out
  rmdir "$DIR" 2>/dev/null || true
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
    2>/dev/null || echo 5077
}

start_server() {  # $1 = synchronous
  rm -f "$DIR"/history.db*
  PORT=$(free_port)
  # Enough pool threads for every wrk connection: POCO keeps one thread per
  # keep-alive connection, and a queued connection would only add waiting.
  "$RTDEMO" --config "$ROOT/etc/rtdemo.properties" --backend sqlite --port "$PORT" \
    -D rtdemo.sqlite.path="$DIR/history.db" -D rtdemo.sqlite.synchronous="$1" \
    -D rtdemo.http.threads=96 -D rtdemo.demo.interval.seconds=0 \
    -D rtdemo.log.level=warning 2>"$DIR/server.out" &
  SERVER_PID=$!
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "sqlite_publish.sh: rtdemo did not start:" >&2
  cat "$DIR/server.out" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
}

# Prints "<requests per second> <non-2xx responses> <socket errors>".
run_wrk() {  # $1 = connections
  local c=$1 t=$(( $1 < 2 ? $1 : 2 )) out="$DIR/wrk.out"
  wrk -t"$t" -c"$c" -d"${SECS}s" -s "$WRK_SCRIPT" "http://127.0.0.1:$PORT/send" >"$out" 2>&1
  local rps non2xx errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  errors=$(awk -F'[ ,]+' '/Socket errors:/ {print $4+$6+$8+$10}' "$out")
  echo "${rps:-0} ${non2xx:-0} ${errors:-0}"
}

declare -A SEND PLAIN_ONE PLAIN_BATCH
for mode in $MODES; do
  start_server "$mode"
  for c in $CONNS; do
    read -r rps non2xx errors < <(run_wrk "$c")
    SEND[$mode,$c]=$rps
    echo "send  synchronous=$mode publishers=$c publishes_per_sec=$rps non_2xx=$non2xx socket_errors=$errors" >&2
    (( non2xx == 0 )) || echo "  warning: $non2xx answers were not 201; the rate above counts them" >&2
  done
  stop_server
  out=$("$PLAIN" --path "$DIR/plain.db" --synchronous "$mode" --seconds "$SECS" --batch "$BATCH")
  echo "$out" | sed 's/^/plain /' >&2
  PLAIN_ONE[$mode]=$(echo "$out" | awk -F'inserts_per_sec=' '/mode=per-insert/ {print $2}')
  PLAIN_BATCH[$mode]=$(echo "$out" | awk -F'inserts_per_sec=' '/mode=batched/ {print $2}')
done

echo
echo "SQLite publish throughput, ${SECS}s per point, $(nproc) cores, database in $DIR"
printf '%-12s %-10s %12s %14s %14s %12s %12s\n' synchronous publishers "send/s" "plain 1/tx" "plain ${BATCH}/tx" "send÷1/tx" "send÷${BATCH}/tx"
for mode in $MODES; do
  for c in $CONNS; do
    s=${SEND[$mode,$c]} one=${PLAIN_ONE[$mode]} batch=${PLAIN_BATCH[$mode]}
    printf '%-12s %-10s %12.0f %14.0f %14.0f %12.2f %12.3f\n' "$mode" "$c" "$s" "$one" "$batch" \
      "$(awk -v a="$s" -v b="$one" 'BEGIN {print (b > 0 ? a / b : 0)}')" \
      "$(awk -v a="$s" -v b="$batch" 'BEGIN {print (b > 0 ? a / b : 0)}')"
  done
done
