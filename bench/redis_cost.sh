#!/usr/bin/env bash
# What one message costs Redis when several rtdemo instances share it (issue
# 22, docs/scaling.md): starts N instances and a redis-server
# (scripts/cluster.sh), spreads SUBS SSE subscribers over them, publishes
# MESSAGES at RATE msg/s through all of them, and prints redis-server's CPU
# per message (utime + stime from /proc while publishing and draining) and
# the Redis commands per message by name (INFO commandstats, before and
# after), with the loadgen's delivered count so a lossy run is not quoted.
#
#   bench/redis_cost.sh [--instances N] [--subs S] [--channels C]
#                       [--messages M] [--rate R] [--loadgen PATH] [--rtdemo PATH]
# Defaults: 6 instances, 600 subscribers, 1 channel, 6000 messages at 300/s.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
INSTANCES=6
SUBS=600
CHANNELS=1
MESSAGES=6000
RATE=300
LOADGEN=$ROOT/build/bench/rtdemo_loadgen
RTDEMO=$ROOT/build/rtdemo
while [ $# -gt 0 ]; do
  case "$1" in
    --instances) INSTANCES=$2; shift ;;
    --subs) SUBS=$2; shift ;;
    --channels) CHANNELS=$2; shift ;;
    --messages) MESSAGES=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --loadgen) LOADGEN=$2; shift ;;
    --rtdemo) RTDEMO=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "redis_cost.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$LOADGEN" ] || { echo "redis_cost.sh: $LOADGEN not built" >&2; exit 1; }

WORK=$(mktemp -d /tmp/rtdemo-redis-cost.XXXXXX)
cleanup() {
  "$ROOT/scripts/cluster.sh" stop "$WORK/cluster" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$ROOT/scripts/cluster.sh" start "$INSTANCES" --dir "$WORK/cluster" --rtdemo "$RTDEMO" \
  -- -D rtdemo.demo.interval.seconds=0 >"$WORK/cluster.log"
. "$WORK/cluster/cluster.env"

stats() { redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r' | grep '^cmdstat_'; }
stats > "$WORK/before"
"$LOADGEN" --server rtdemo --ports "$PORTS" --server-pid "$PIDS" --bus-pid "$REDIS_PID" \
  --subs "$SUBS" --channels "$CHANNELS" --messages "$MESSAGES" --rate "$RATE" \
  --label redis-cost >"$WORK/loadgen.log" 2>&1 ||
  { cat "$WORK/loadgen.log" >&2; exit 1; }
stats > "$WORK/after"

r=$(grep '^RESULT' "$WORK/loadgen.log")
field() { tr ' ' '\n' <<<"$r" | sed -n "s/^$1=//p"; }
ok=$(field publish_ok)
echo "$INSTANCES instances, $SUBS SSE subscribers over $CHANNELS channel(s), $ok messages" \
  "published at $(field publish_rate) msg/s; delivered $(field delivered)/$(field expected)," \
  "arrival p99 $(field arr_p99_ms) ms; load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v cpu="$(field bus_cpu_s)" -v n="$ok" -v srv="$(field server_cpu_s)" 'BEGIN {
  printf "redis-server CPU: %.2f s for %d messages = %.1f us per message", cpu, n, cpu * 1e6 / n
  printf " (the %s instances: %.1f us per message)\n", "rtdemo", srv * 1e6 / n
}'
# Calls per message, by command, from the difference of the two snapshots;
# the connect phase's calls (one XREVRANGE and one wake XADD per subscribe)
# are in it too, and printed apart below.
awk -F'[:=,]' -v n="$ok" '
  FNR == NR { before[$1] = $3; busy[$1] = $5; next }
  { d = $3 - before[$1]; u = $5 - busy[$1]
    if (d > 0) printf "  %-22s %9d calls, %6.2f per message, %7.1f us per call in Redis\n", substr($1, 9), d, d / n, u / d }
' "$WORK/before" "$WORK/after"
