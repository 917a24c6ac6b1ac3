#!/usr/bin/env bash
# Publishing at the Broker against its ceilings, in one run (issue 21).
#
# For each of REPEAT rounds, back to back on the same disk and Redis:
#   - rtdemo_sqlite_bench: raw SQLite, one insert per commit and batches of 64;
#   - rtdemo_broker_bench on SQLite: PUBS asynchronous publishers, single
#     messages, then batches of BATCH;
#   - redis-benchmark XADD with PUBS clients (no pipelining), on a private
#     redis-server (AOF, appendfsync FSYNC);
#   - rtdemo_broker_bench on that Redis: PUBS publishers, single, then BATCH.
# Prints every line, then the medians and the ratios to the ceilings.
#
# Usage: bench/broker_publish.sh
#   BUILD=build SECS=3 REPEAT=3 PUBS=64 BATCH=100 FSYNC=everysec DIR=/var/tmp
# DIR must be on a real disk (not tmpfs), or fsync costs nothing. Not a test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SECS=${SECS:-3} REPEAT=${REPEAT:-3} PUBS=${PUBS:-64} BATCH=${BATCH:-100}
FSYNC=${FSYNC:-everysec}
WORK=$(mktemp -d "${DIR:-/var/tmp}/rtdemo-broker-bench-XXXXXX")
REDIS_PID=
cleanup() {
  [[ -n $REDIS_PID ]] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK" --appendonly yes \
  --appendfsync "$FSYNC" --save '' --daemonize no --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 200); do
  [[ $(redis-cli -p "$RPORT" ping 2>/dev/null) == PONG ]] && break
  sleep 0.05
done
field() { sed -E "s/.*$1=([0-9.]+).*/\1/"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$WORK/results"
for r in $(seq "$REPEAT"); do
  raw=$("$BUILD/bench/rtdemo_sqlite_bench" --path "$WORK/raw.db" --seconds "$SECS" --batch 64)
  echo "$raw" >&2
  echo "raw1 $(echo "$raw" | grep per-insert | field inserts_per_sec)" >>"$WORK/results"
  echo "raw64 $(echo "$raw" | grep batched | field inserts_per_sec)" >>"$WORK/results"
  for b in 1 "$BATCH"; do
    out=$("$BUILD/bench/rtdemo_broker_bench" --backend sqlite --path "$WORK/broker.db" \
          --publishers "$PUBS" --batch "$b" --seconds "$SECS")
    echo "$out" >&2
    echo "sqlite$b $(echo "$out" | field messages_per_sec) $(echo "$out" | field p50_us) $(echo "$out" | field p99_us)" >>"$WORK/results"
  done
  xadd=$(redis-benchmark -p "$RPORT" -c "$PUBS" -n 200000 -q \
         XADD bench:raw MAXLEN '~' 1000 '*' d hello 2>&1 | tr '\r' '\n' | grep -i 'requests per second' | tail -1)
  echo "xadd clients=$PUBS $xadd" >&2
  echo "xadd $(echo "$xadd" | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')" >>"$WORK/results"
  for b in 1 "$BATCH"; do
    out=$("$BUILD/bench/rtdemo_broker_bench" --backend redis --redis-port "$RPORT" \
          --publishers "$PUBS" --batch "$b" --seconds "$SECS")
    echo "$out" >&2
    echo "redis$b $(echo "$out" | field messages_per_sec) $(echo "$out" | field p50_us) $(echo "$out" | field p99_us)" >>"$WORK/results"
  done
  redis-cli -p "$RPORT" flushall >/dev/null
done
med() { awk -v k="$1" -v c="${2:-2}" '$1 == k {print $c}' "$WORK/results" | median; }
raw1=$(med raw1) raw64=$(med raw64) xadd=$(med xadd)
s1=$(med sqlite1) sb=$(med "sqlite$BATCH") r1=$(med redis1) rb=$(med "redis$BATCH")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "medians of $REPEAT rounds, $PUBS publishers, ${SECS}s each (messages/s):"
printf '%-34s %10s  %s\n' "raw SQLite, 1 insert per commit" "$raw1" ""
printf '%-34s %10s  %s\n' "raw SQLite, 64 per commit" "$raw64" ""
printf '%-34s %10s  %sx raw-1, %sx raw-64  p50 %sus p99 %sus\n' "SqliteBroker async" "$s1" \
  "$(ratio "$s1" "$raw1")" "$(ratio "$s1" "$raw64")" "$(med sqlite1 3)" "$(med sqlite1 4)"
printf '%-34s %10s  %sx raw-1, %sx single\n' "SqliteBroker batches of $BATCH" "$sb" \
  "$(ratio "$sb" "$raw1")" "$(ratio "$sb" "$s1")"
printf '%-34s %10s\n' "redis-benchmark XADD -c $PUBS" "$xadd"
printf '%-34s %10s  %sx XADD  p50 %sus p99 %sus\n' "RedisBroker async" "$r1" "$(ratio "$r1" "$xadd")" \
  "$(med redis1 3)" "$(med redis1 4)"
printf '%-34s %10s  %sx XADD, %sx single\n' "RedisBroker batches of $BATCH" "$rb" \
  "$(ratio "$rb" "$xadd")" "$(ratio "$rb" "$r1")"
