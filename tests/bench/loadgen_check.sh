#!/usr/bin/env bash
# Checks the benchmark's instruments, not rtdemo's speed: the load generator
# and the kernel floor must count every delivery and stamp each one with the
# kernel's receive time (bench/README.md, "Two latencies"). A loadgen that
# lost its SO_TIMESTAMPNS stamps, mixed up its clocks or miscounted would
# make every Performance figure in the README wrong without anyone noticing.
#
#   loadgen_check.sh RTDEMO LOADGEN SEND_FLOOR WITHOUT_IO_URING
#
# Small loads on a fresh rtdemo (memory backend) in each mode: SSE, WebSocket,
# long polling and Durable Streams SSE readers (--mode ds), receiving in io_uring batches (the default), and SSE and
# long polling again with one recvmsg() per socket (bench/batch_receiver.h).
# For each, the RESULT line must show:
#   - the receive path asked for;
#   - every expected message delivered, none missing, duplicated or misrouted;
#   - a receive timestamp on every delivery, none outside [publish, read];
#   - arrival percentiles no later than the matching read percentiles, since
#     a segment is in the socket before anyone reads it.
# And a kill-one run on 3 instances sharing a Redis (--resume, --kill-pid).
# Where io_uring is forbidden (WITHOUT_IO_URING runs a command so), --recv
# auto must say so and still count everything; --recv io-uring must refuse.
set -euo pipefail

RTDEMO=$(realpath "$1")
LOADGEN=$(realpath "$2")
FLOOR=$(realpath "$3")
WITHOUT_IO_URING=$(realpath "$4")

WORK=$(mktemp -d /tmp/rtdemo-loadgen-check.XXXXXX)
SERVER_PID=
cleanup() {
  [ -f "$WORK/cluster/pids" ] && "$(dirname "$0")/../../scripts/cluster.sh" stop "$WORK/cluster"
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

ulimit -n 20000 2>/dev/null || true

# rtdemo picks its port (0) and writes it to a file once it accepts, so no
# other process on the machine can take the port between a probe and the
# bind.
start_rtdemo() {
  local i
  rm -f "$WORK/port"
  (cd "$WORK" && exec "$RTDEMO" --port 0 --backend memory \
    -D rtdemo.demo.interval.seconds=0 -D rtdemo.port-file="$WORK/port") >"$WORK/rtdemo.log" 2>&1 &
  SERVER_PID=$!
  for i in $(seq 1 200); do
    if [[ -s "$WORK/port" ]]; then
      PORT=$(cat "$WORK/port")
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$WORK/rtdemo.log" >&2
  fail "rtdemo did not start"
}

stop_rtdemo() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# field LINE KEY: the value of KEY=value in a RESULT line.
field() {
  local v
  v=$(tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p")
  [ -n "$v" ] || fail "no $2 in: $1"
  echo "$v"
}

# le A B: A <= B for decimals.
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

# check_mode MODE RECV [WRAPPER] -- LOADGEN_ARGS...: one run, checked.
# RECV is the receive path the RESULT line must name (io_uring or recvmsg).
check_mode() {
  local mode=$1 recv=$2
  shift 2
  local wrapper=()
  while [ "$1" != -- ]; do wrapper+=("$1"); shift; done
  shift
  start_rtdemo
  local out=$WORK/$mode-$recv.log
  if ! timeout -k 5 120 ${wrapper[@]+"${wrapper[@]}"} "$LOADGEN" --server rtdemo \
      --port "$PORT" --server-pid "$SERVER_PID" --label "$mode" --mode "$mode" \
      "$@" >"$out" 2>&1; then
    cat "$out" >&2
    fail "$mode: loadgen exited non-zero"
  fi
  LAST_OUT=$out
  stop_rtdemo
  local r
  r=$(grep '^RESULT' "$out" | tail -1)
  [ -n "$r" ] || { cat "$out" >&2; fail "$mode: no RESULT line"; }
  local expected delivered stamped
  [ "$(field "$r" recv)" = "$recv" ] ||
    fail "$mode: received with $(field "$r" recv), not $recv"
  mode="$mode ($recv)"
  expected=$(field "$r" expected)
  delivered=$(field "$r" delivered)
  stamped=$(field "$r" stamped)
  [ "$expected" -gt 0 ] || fail "$mode: nothing expected: $r"
  [ "$delivered" = "$expected" ] || fail "$mode: delivered $delivered of $expected"
  for k in missing dups misrouted stamps_outside; do
    [ "$(field "$r" $k)" = 0 ] || fail "$mode: $k=$(field "$r" $k)"
  done
  [ "$stamped" = "$delivered" ] ||
    fail "$mode: only $stamped of $delivered deliveries had a receive timestamp"
  for p in p50 p99 max; do
    le "$(field "$r" arr_${p}_ms)" "$(field "$r" lat_${p}_ms)" ||
      fail "$mode: arrival $p $(field "$r" arr_${p}_ms) ms after read $p $(field "$r" lat_${p}_ms) ms"
  done
  echo "ok: $mode delivered $delivered/$expected, all stamped," \
    "arrival p99 $(field "$r" arr_p99_ms) ms <= read p99 $(field "$r" lat_p99_ms) ms"
}

# SSE and WebSocket streams take the same load.
STREAMS=(--subs 200 --channels 2 --messages 40 --rate 40)
POLL=(--subs 200 --channels 2 --messages 20 --rate 10)
check_mode sse io_uring -- "${STREAMS[@]}" --recv io-uring
check_mode ws io_uring -- "${STREAMS[@]}" --recv io-uring
check_mode ds io_uring -- "${STREAMS[@]}" --recv io-uring
check_mode poll io_uring -- "${POLL[@]}" --recv io-uring
check_mode sse recvmsg -- "${STREAMS[@]}" --recv syscall
check_mode poll recvmsg -- "${POLL[@]}" --recv syscall

# Three loadgen processes acting as one run (bench/load_group.h): member 0
# publishes, and its RESULT line must count the subscribers and deliveries
# of all three, with the same checks as one process.
start_rtdemo
GROUP=$WORK/group
mkdir -p "$GROUP"
group_pids=()
for i in 0 1 2; do
  timeout -k 5 120 "$LOADGEN" --server rtdemo --port "$PORT" --server-pid "$SERVER_PID" \
    --label group --mode sse --subs $((60 + i)) --channels 2 --messages 40 --rate 40 \
    --group "$GROUP" --group-size 3 --group-index $i >"$WORK/group.$i.log" 2>&1 &
  group_pids+=($!)
done
for p in "${group_pids[@]}"; do
  wait "$p" || { cat "$WORK"/group.*.log >&2; fail "group: a loadgen exited non-zero"; }
done
stop_rtdemo
r=$(grep '^RESULT' "$WORK/group.0.log" | tail -1)
[ -n "$r" ] || { cat "$WORK"/group.*.log >&2; fail "group: no RESULT line from member 0"; }
grep -q '^RESULT' "$WORK/group.1.log" "$WORK/group.2.log" &&
  fail "group: a member other than 0 printed a RESULT line"
for kv in subs=183 subscribed=183 procs=3 procs_missing=0 expected=3660 delivered=3660 \
          stamped=3660 missing=0 dups=0 misrouted=0 stamps_outside=0; do
  [ "$(field "$r" "${kv%%=*}")" = "${kv#*=}" ] ||
    fail "group: ${kv%%=*}=$(field "$r" "${kv%%=*}"), want ${kv#*=}"
done
echo "ok: 3 loadgen processes as one run: 183 subscribers, 3660/3660 delivered and stamped"

# Kill one (bench/load_run_resume.cc), small: 3 instances on one port
# (reuse-port) and one Redis (scripts/cluster.sh), the busiest SIGKILLed while
# all stream. Its clients must reopen with Last-Event-ID after the retry:
# they were told (at least rtdemo.retry.ms), every one of them, and the
# resumed ones must miss nothing and get nothing twice. No time limit is
# asserted: how fast is for bench/run.sh --scenarios kill.
command -v redis-server >/dev/null || fail "kill one: redis-server is not installed"
CLUSTER=$WORK/cluster
"$(dirname "$0")/../../scripts/cluster.sh" start 3 --dir "$CLUSTER" --rtdemo "$RTDEMO" \
  --reuse-port -- -D rtdemo.demo.interval.seconds=0 -D rtdemo.retry.ms=300 \
  -D rtdemo.retry.jitter.ms=700 >"$WORK/cluster.log" 2>&1 ||
  { cat "$WORK/cluster.log" >&2; fail "kill one: cluster.sh start failed"; }
. "$CLUSTER/cluster.env"
set +e
timeout -k 5 120 "$LOADGEN" --server rtdemo --ports "$PORTS" --label kill --mode sse \
  --subs 300 --channels 2 --messages 12 --rate 2 --resume yes --kill-pid "$PIDS" \
  --kill-after-s 2 >"$WORK/kill.log" 2>&1
code=$?
set -e
"$(dirname "$0")/../../scripts/cluster.sh" stop "$CLUSTER" || true
[ "$code" = 0 ] || { cat "$WORK/kill.log" >&2; fail "kill one: loadgen exited $code"; }
r=$(grep '^RESULT' "$WORK/kill.log" | tail -1)
[ -n "$r" ] || { cat "$WORK/kill.log" >&2; fail "kill one: no RESULT line"; }
[ "$(field "$r" killed)" = 1 ] || fail "kill one: nothing was killed: $r"
dropped=$(field "$r" dropped)
[ "$dropped" -gt 0 ] || { cat "$WORK/kill.log" >&2; fail "kill one: no stream dropped"; }
[ "$(field "$r" resumed)" = "$dropped" ] ||
  fail "kill one: $(field "$r" resumed) of $dropped dropped streams resumed"
for k in subs_gapped subs_duped missing dups misrouted; do
  [ "$(field "$r" $k)" = 0 ] || fail "kill one: $k=$(field "$r" $k)"
done
[ "$(field "$r" delivered)" = "$(field "$r" expected)" ] ||
  fail "kill one: delivered $(field "$r" delivered) of $(field "$r" expected)"
le 300 "$(field "$r" resume_p50_ms)" ||
  fail "kill one: resumed after $(field "$r" resume_p50_ms) ms (p50), sooner than the 300 ms retry:"
echo "ok: kill one of 3: $dropped streams dropped, all resumed with Last-Event-ID, no gap," \
  "no duplicate, $(field "$r" delivered)/$(field "$r" expected) delivered"

# io_uring forbidden: auto falls back and says so once; io-uring refuses.
check_mode sse recvmsg "$WITHOUT_IO_URING" -- "${STREAMS[@]}" --recv auto
notice='io_uring unavailable (io_uring_queue_init: Operation not permitted); receiving with one recvmsg() per socket'
[ "$(grep -cF "$notice" "$LAST_OUT")" = 1 ] ||
  { cat "$LAST_OUT" >&2; fail "--recv auto without io_uring: no single fallback notice"; }
echo "ok: --recv auto without io_uring falls back and says so"
start_rtdemo
set +e
refused=$("$WITHOUT_IO_URING" "$LOADGEN" --server rtdemo --port "$PORT" "${STREAMS[@]}" \
  --recv io-uring 2>&1)
code=$?
set -e
stop_rtdemo
[ "$code" != 0 ] || fail "--recv io-uring without io_uring exited 0"
grep -qF 'loadgen: --recv io-uring: io_uring_queue_init: Operation not permitted' <<<"$refused" ||
  { echo "$refused" >&2; fail "--recv io-uring without io_uring did not say why it refused"; }
grep -q '^RESULT' <<<"$refused" && fail "--recv io-uring without io_uring ran anyway"
echo "ok: --recv io-uring without io_uring refuses (exit $code) and says why"

# The floor, receiving both ways: every record read, both percentiles printed.
for recv in io-uring syscall; do
  floor_out=$("$FLOOR" --subs 200 --messages 40 --rate 40 --senders 2 --recv $recv) ||
    { echo "$floor_out" >&2; fail "send_floor --recv $recv exited non-zero"; }
  grep -qF "floor reader (--recv $recv): delivered 8000/8000," <<<"$floor_out" ||
    { echo "$floor_out" >&2; fail "send_floor --recv $recv did not read every record"; }
  grep -q 'arrival (8000 stamped)' <<<"$floor_out" ||
    { echo "$floor_out" >&2; fail "send_floor --recv $recv: not every record had a receive timestamp"; }
  fp99=$(sed -n 's/.*latency p50 [0-9.]* ms, p90 [0-9.]* ms, p99 \([0-9.]*\) ms.*/\1/p' <<<"$floor_out")
  fa99=$(sed -n 's/.*arrival ([0-9]* stamped) p50 [0-9.]* ms, p99 \([0-9.]*\) ms.*/\1/p' <<<"$floor_out")
  [ -n "$fp99" ] && [ -n "$fa99" ] || { echo "$floor_out" >&2; fail "send_floor printed no percentiles"; }
  le "$fa99" "$fp99" || fail "send_floor --recv $recv: arrival p99 $fa99 ms after read p99 $fp99 ms"
  echo "ok: send_floor --recv $recv read 8000/8000, arrival p99 $fa99 ms <= read p99 $fp99 ms"
done
