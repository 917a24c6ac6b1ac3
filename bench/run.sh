#!/usr/bin/env bash
# Runs the issue-5 benchmark: the same loads against rtdemo and against Nchan
# (nginx + nchan, configured here on loopback in a temporary directory), in
# one run on this machine, and prints one table with both and their ratios.
# Each scenario gets a freshly started server, so RSS figures start from the
# same baseline and a crash in one scenario does not spoil the next.
#
#   bench/run.sh --quick          smoke run (small N, ~2 min)
#   bench/run.sh --full           one full run (~6 min); the README quotes
#                                 --full --repeat 3 (~16 min)
# Options:
#   --backend memory|sqlite|redis rtdemo backend (memory); for redis, start
#                                 redis-server first
#   --rtdemo-arg ARG              extra argument for rtdemo (repeatable)
#   --servers nchan,rtdemo        which servers to run (both)
#   --scenarios 1,1w,2,2w,3,4,7,8 which scenarios (all but 9; 5 and 6 come
#                                 from 1, and from 1w for WebSocket; 1w and
#                                 2w are 1 and 2 with WebSocket subscribers;
#                                 9 is past one process: rtdemo instances on
#                                 one redis-server against as many nginx
#                                 workers, several loadgen processes);
#                                 kill: rtdemo only, INSTANCES instances on
#                                 one port (reuse-port) and one Redis, the
#                                 busiest SIGKILLed while all stream, its
#                                 clients resuming with Last-Event-ID;
#                                 redis1: rtdemo only, 19,000 subs on one
#                                 instance, memory backend against Redis;
#                                 1d: scenario 1 with Durable Streams readers
#                                 of one stream, rtdemo only (--servers rtdemo
#                                 --scenarios 1,1d puts them side by side)
#   --instances N                 scenario 9's rtdemo instances and Nchan
#                                 workers (6)
#   --repeat N                    run each N times, report medians (1)
#   --rtdemo PATH / --loadgen PATH  binaries (build/rtdemo, built loadgen)
#   --keep                        keep the work directory with all logs
#   --timelines                   also write per-message latency TSVs there
#                                 (implies --keep)
#   --no-floor                    skip the kernel floor (send_floor.cc) that
#                                 otherwise runs with scenarios 1 and 2
# Every process started here is stopped on exit, whatever happens.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

MODE=quick
BACKEND=memory
SERVERS=nchan,rtdemo
SCENARIOS=1,1w,2,2w,3,4,7,8
REPEAT=1
RTDEMO=$ROOT/build/rtdemo
LOADGEN=
KEEP=0
TIMELINES=0
FLOOR=1
INSTANCES=6
RTDEMO_ARGS=()

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --backend) BACKEND=$2; shift ;;
    --rtdemo-arg) RTDEMO_ARGS+=("$2"); shift ;;
    --servers) SERVERS=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --rtdemo) RTDEMO=$2; shift ;;
    --loadgen) LOADGEN=$2; shift ;;
    --keep) KEEP=1 ;;
    --timelines) TIMELINES=1; KEEP=1 ;;
    --no-floor) FLOOR=0 ;;
    --instances) INSTANCES=$2; shift ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

WORK=$(mktemp -d /tmp/rtdemo-bench.XXXXXX)
RESULTS=$WORK/results.tsv
: > "$RESULTS"
SERVER_PID=
SERVER_PIDS=
CLUSTER_DIR=

cleanup() {
  stop_server
  stop_cluster
  if [ "$KEEP" = 1 ]; then
    echo "logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[bench] $*" >&2; }

# ---- prerequisites ----

ensure_packages() {
  local missing=()
  for p in nginx-light libnginx-mod-nchan wrk; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "run.sh: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # The Debian package starts a system nginx on port 80; this benchmark runs
  # its own and does not need that one.
}

find_nchan_module() {
  local m
  for m in /usr/lib/nginx/modules/ngx_nchan_module.so \
           /usr/share/nginx/modules/ngx_nchan_module.so; do
    [ -f "$m" ] && { echo "$m"; return; }
  done
  echo "run.sh: ngx_nchan_module.so not found" >&2
  exit 1
}

build_loadgen() {
  if [ -n "$LOADGEN" ]; then return; fi
  # A loadgen built before --mode ws would fail the WebSocket scenarios.
  if [ -x "$ROOT/build/bench/rtdemo_loadgen" ] &&
     [[ "$("$ROOT/build/bench/rtdemo_loadgen" --help 2>/dev/null)" == *'sse|ws'* ]]; then
    LOADGEN=$ROOT/build/bench/rtdemo_loadgen
    return
  fi
  log "building rtdemo_loadgen"
  cmake -S "$BENCH_DIR" -B "$WORK/loadgen-build" -DCMAKE_BUILD_TYPE=Release \
    >"$WORK/loadgen-build.log" 2>&1
  cmake --build "$WORK/loadgen-build" -j2 >>"$WORK/loadgen-build.log" 2>&1 ||
    { cat "$WORK/loadgen-build.log" >&2; exit 1; }
  LOADGEN=$WORK/loadgen-build/rtdemo_loadgen
}

# free_port, wait_port
. "$BENCH_DIR/ports.sh"

# ---- servers ----

start_nchan() {
  local port=$1
  local dir=$WORK/nchan-$port
  mkdir -p "$dir"
  # Scenario 9 sets NCHAN_WORKERS and NCHAN_LISTEN (reuseport there).
  sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@MODULE@|$NCHAN_MODULE|g" \
    -e "s|@WORKERS@|${NCHAN_WORKERS:-2}|g" -e "s|@LISTEN@|${NCHAN_LISTEN:-}|g" \
    "$BENCH_DIR/nchan.conf.in" > "$dir/nginx.conf"
  nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" \
    >"$dir/stdout.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_port "$port" "$SERVER_PID"; then
    tail -5 "$dir/error.log" >&2 || true
    return 1
  fi
  # Workers may still be forking when the port answers.
  sleep 0.3
  SERVER_PIDS=$(echo "$SERVER_PID" $(pgrep -P "$SERVER_PID") | tr ' ' ',')
}

start_rtdemo() {
  local port=$1
  local dir=$WORK/rtdemo-$port
  # var/ holds the sqlite backend's default database path.
  mkdir -p "$dir/var"
  if [ ! -x "$RTDEMO" ]; then
    echo "run.sh: $RTDEMO not found (build rtdemo or pass --rtdemo)" >&2
    return 1
  fi
  (cd "$dir" && exec "$RTDEMO" --port "$port" --backend "$BACKEND" \
    -D rtdemo.demo.interval.seconds=0 ${RTDEMO_ARGS[@]+"${RTDEMO_ARGS[@]}"}) \
    >"$dir/stdout.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_port "$port" "$SERVER_PID"; then
    tail -5 "$dir/stdout.log" >&2 || true
    return 1
  fi
  SERVER_PIDS=$SERVER_PID
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    log "server $SERVER_PID ignored SIGTERM; killing it"
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  # nginx workers exit with their master; make sure of it.
  local p
  for p in ${SERVER_PIDS//,/ }; do
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  done
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  SERVER_PIDS=
}

start_server() {
  PORT=$(free_port) || exit 1
  case "$1" in
    nchan) start_nchan "$PORT" ;;
    rtdemo) start_rtdemo "$PORT" ;;
  esac
}

# Scenario 9's rtdemo: INSTANCES instances and one redis-server, started by
# scripts/cluster.sh; sets PORTS, SERVER_PIDS (the instances) and BUS_PID.
# CLUSTER_OPTS: more cluster.sh options (the kill scenario: --reuse-port).
start_cluster() {
  CLUSTER_DIR=$WORK/cluster-$1
  "$ROOT/scripts/cluster.sh" start "$INSTANCES" --dir "$CLUSTER_DIR" \
    ${CLUSTER_OPTS:-} \
    --rtdemo "$RTDEMO" -- -D rtdemo.demo.interval.seconds=0 \
    ${RTDEMO_ARGS[@]+"${RTDEMO_ARGS[@]}"} >"$CLUSTER_DIR.log" 2>&1 ||
    { cat "$CLUSTER_DIR.log" >&2; return 1; }
  . "$CLUSTER_DIR/cluster.env"
  SERVER_PIDS=$PIDS
  BUS_PID=$REDIS_PID
}

stop_cluster() {
  [ -n "$CLUSTER_DIR" ] || return 0
  "$ROOT/scripts/cluster.sh" stop "$CLUSTER_DIR" || true
  CLUSTER_DIR=
}

# ---- recording ----

# record SCENARIO SERVER REP "key=value key=value ..."
record() {
  local scen=$1 server=$2 rep=$3 kv
  shift 3
  for kv in $*; do
    printf '%s\t%s\t%s\t%s\t%s\n' "$scen" "$server" "$rep" "${kv%%=*}" \
      "${kv#*=}" >> "$RESULTS"
  done
}

# run_loadgen SCENARIO SERVER REP ARGS...: one loadgen run on a fresh server.
run_loadgen() {
  local scen=$1 server=$2 rep=$3
  shift 3
  local out=$WORK/$scen-$server-$rep.log
  local extra=()
  [ "$TIMELINES" = 1 ] && extra=(--timeline "$WORK/$scen-$server-$rep.tsv")
  if ! start_server "$server"; then
    log "$scen/$server: server did not start"
    record "$scen" "$server" "$rep" "failed=1"
    stop_server
    return 0
  fi
  log "$scen/$server (run $rep): $*"
  # Bounded: no scenario takes near 5 minutes; a hang must not stall CI.
  if timeout -k 5 300 "$LOADGEN" --server "$server" --port "$PORT" \
      --server-pid "$SERVER_PIDS" --label "$scen" ${extra[@]+"${extra[@]}"} "$@" \
      >"$out" 2>&1; then
    grep -v '^RESULT' "$out" | sed 's/^/    /' >&2
  else
    log "$scen/$server: loadgen failed"
    tail -5 "$out" >&2
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "$scen/$server: SERVER DIED during the run"
    record "$scen" "$server" "$rep" "server_died=1"
  fi
  local line
  line=$(grep '^RESULT' "$out" | tail -1 || true)
  [ -n "$line" ] && record "$scen" "$server" "$rep" "${line#RESULT }"
  stop_server
  sleep 1
}

# run_floor SCENARIO ARGS...: the same fan-out with no server at all
# (send_floor.cc), so the table can be read against what the kernel allows.
run_floor() {
  local scen=$1
  shift
  local floor
  floor=$(dirname "$LOADGEN")/rtdemo_send_floor
  if [ ! -x "$floor" ]; then
    log "floor: $floor is not built; skipping it"
    return 0
  fi
  log "$scen/floor (run $rep): $*"
  timeout -k 5 300 "$floor" "$@" 2>&1 | sed "s/^/($scen, run $rep) /" |
    tee -a "$WORK/floor.txt" >&2 || true
  sleep 1
}

# run_group SCENARIO SERVER REP PROCS SUBS ARGS...: scenario 9. SUBS
# subscribers over PROCS loadgen processes (bench/load_group.h), each under
# the 20,000 descriptors a process may hold; member 0 publishes and prints
# the merged RESULT line. rtdemo: INSTANCES instances on one Redis, each
# connection to the next instance's port, as a load balancer would; Nchan:
# INSTANCES workers on one port (reuseport).
run_group() {
  local scen=$1 server=$2 rep=$3 procs=$4 subs=$5
  shift 5
  local out=$WORK/$scen-$server-$rep.log gdir=$WORK/$scen-$server-$rep.group
  local target=() bus=() pids=() i
  mkdir -p "$gdir"
  if [ "$server" = rtdemo ]; then
    if ! start_cluster "$scen-$rep"; then
      record "$scen" "$server" "$rep" "failed=1"
      stop_cluster
      return 0
    fi
    target=(--ports "$PORTS")
    bus=(--bus-pid "$BUS_PID")
    # kill: every instance a candidate; the loadgen kills the busiest.
    [ "$scen" = kill ] && bus+=(--resume yes --kill-pid "$SERVER_PIDS")
  else
    if ! NCHAN_WORKERS=$INSTANCES NCHAN_LISTEN=reuseport start_server nchan; then
      record "$scen" "$server" "$rep" "failed=1"
      stop_server
      return 0
    fi
    target=(--port "$PORT")
  fi
  log "$scen/$server (run $rep): $subs subs over $procs loadgens: $*"
  for i in $(seq 0 $((procs - 1))); do
    local mine=$((subs / procs + (i < subs % procs ? 1 : 0)))
    timeout -k 5 600 "$LOADGEN" --server "$server" "${target[@]}" \
      --server-pid "$SERVER_PIDS" ${bus[@]+"${bus[@]}"} --label "$scen" \
      --group "$gdir" --group-size "$procs" --group-index "$i" --subs "$mine" \
      "$@" >"$out.$i" 2>&1 &
    pids+=($!)
  done
  local failed=0
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed=1; done
  cat "$out".* > "$out"
  if [ "$failed" = 0 ]; then
    grep -v '^RESULT' "$out.0" | sed 's/^/    /' >&2
  else
    log "$scen/$server: a loadgen failed"
    tail -5 "$out" >&2
  fi
  local pid
  for pid in ${SERVER_PIDS//,/ }; do
    if [ "$scen" != kill ] && ! kill -0 "$pid" 2>/dev/null; then
      log "$scen/$server: SERVER $pid DIED during the run"
      record "$scen" "$server" "$rep" "server_died=1"
    fi
  done
  local line
  line=$(grep '^RESULT' "$out.0" | tail -1 || true)
  [ -n "$line" ] && record "$scen" "$server" "$rep" "${line#RESULT }"
  if [ "$server" = rtdemo ]; then stop_cluster; else stop_server; fi
  rm -rf "$gdir"
  sleep 1
}

run_wrk() {
  local scen=$1 server=$2 rep=$3 secs=$4
  local out=$WORK/$scen-$server-$rep.log path body ctype
  local pad
  pad=$(printf 'x%.0s' $(seq 1 64))
  if ! start_server "$server"; then
    record "$scen" "$server" "$rep" "failed=1"
    stop_server
    return 0
  fi
  if [ "$server" = rtdemo ]; then
    path=/send; body="channel=wrk&data=$pad"
    ctype=application/x-www-form-urlencoded
  else
    path=/pub?id=wrk; body=$pad; ctype=text/plain
  fi
  log "$scen/$server (run $rep): wrk -t2 -c32 -d${secs}s POST $path"
  WRK_BODY=$body WRK_CONTENT_TYPE=$ctype timeout -k 5 $((secs + 30)) \
    wrk -t2 -c32 -d"${secs}s" --latency -s "$BENCH_DIR/wrk_send.lua" \
    "http://127.0.0.1:$PORT$path" >"$out" 2>&1 || log "wrk failed"
  sed 's/^/    /' "$out" >&2
  local rps non2xx errors p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4+$6+$8+$10}' "$out")
  p99=$(awk '$1 == "99%" {v=$2; u=v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; print v}' "$out")
  record "$scen" "$server" "$rep" "req_per_s=${rps:-0}" "non2xx=${non2xx:-0}" \
    "sock_errors=${errors:-0}" "wrk_p99_ms=${p99:-0}"
  kill -0 "$SERVER_PID" 2>/dev/null || record "$scen" "$server" "$rep" "server_died=1"
  stop_server
  sleep 1
}

# ---- scenarios ----

# Sizes: full mode is issue 5's load; quick mode keeps the shape with small N.
if [ "$MODE" = full ]; then
  S1=(--subs 19000 --messages 50 --rate 5 --settle-ms 2000)
  S2=(--subs 1000 --messages 500 --rate 50)
  S1W=(--mode ws --subs 19000 --messages 50 --rate 5 --settle-ms 2000)
  S1D=(--mode ds --subs 19000 --messages 50 --rate 5 --settle-ms 2000)
  S2W=(--mode ws --subs 1000 --messages 500 --rate 50)
  S3=(--subs 10000 --channels 1000 --messages 10000 --rate 1000)
  S4=(--mode poll --subs 5000 --messages 50 --rate 5)
  S8=(--subs 300 --messages 1000 --rate 50 --payload-bytes 8192)
  F1=(--subs 19000 --messages 50 --rate 5)
  F2=(--subs 1000 --messages 500 --rate 50)
  # 100,000 over 6 loadgens: 16,667 sockets each.
  S9_SUBS=100000
  S9_PROCS=6
  S9=(--messages 30 --rate 1 --settle-ms 5000 --connect-concurrency 300
      --connect-timeout 300)
  # kill: 97,000 over 6 instances is ~16,200 each, and the busiest one's
  # clients then fit on the 5 survivors (~19,400 each, under 20,000 files).
  SK_SUBS=97000
  SK=(--messages 30 --rate 1 --kill-after-s 10 --settle-ms 5000
      --connect-concurrency 300 --connect-timeout 300)
  S10=(--subs 19000 --messages 50 --rate 5 --settle-ms 2000)
  WRK_SECS=10
else
  S1=(--subs 2000 --messages 15 --rate 5)
  S2=(--subs 200 --messages 150 --rate 50)
  S1W=(--mode ws --subs 2000 --messages 15 --rate 5)
  S1D=(--mode ds --subs 2000 --messages 15 --rate 5)
  S2W=(--mode ws --subs 200 --messages 150 --rate 50)
  S3=(--subs 1000 --channels 100 --messages 300 --rate 100)
  S4=(--mode poll --subs 500 --messages 15 --rate 5)
  S8=(--subs 100 --messages 250 --rate 50 --payload-bytes 8192)
  F1=(--subs 2000 --messages 15 --rate 5)
  F2=(--subs 200 --messages 150 --rate 50)
  S9_SUBS=3000
  S9_PROCS=2
  S9=(--messages 10 --rate 1)
  SK_SUBS=1200
  SK=(--messages 14 --rate 1 --kill-after-s 4)
  S10=(--subs 2000 --messages 15 --rate 5)
  WRK_SECS=2
fi

ensure_packages
NCHAN_MODULE=$(find_nchan_module)
build_loadgen
# rtdemo and nginx inherit this; the loadgen raises its own.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

IFS=, read -r -a SERVER_LIST <<< "$SERVERS"
has_scenario() { [[ ",$SCENARIOS," == *",$1,"* ]]; }

# Other work on these 2 cores skews everything; the table says how busy the
# machine was.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "mode $MODE, backend $BACKEND, servers $SERVERS, repeat $REPEAT," \
    "load average $LOAD_START"

for rep in $(seq 1 "$REPEAT"); do
  # Alternate the order between repeats so neither server always runs on a
  # machine warmed (or littered with TIME_WAIT) by the other.
  order=("${SERVER_LIST[@]}")
  if [ $((rep % 2)) = 0 ] && [ ${#order[@]} = 2 ]; then
    order=("${order[1]}" "${order[0]}")
  fi
  for s in "${order[@]}"; do
    has_scenario 1 && run_loadgen s1 "$s" "$rep" "${S1[@]}"
    has_scenario 1w && run_loadgen s1w "$s" "$rep" "${S1W[@]}"
    # Durable Streams is rtdemo's alone; Nchan has no /v1/stream.
    has_scenario 1d && [ "$s" = rtdemo ] && run_loadgen s1d "$s" "$rep" "${S1D[@]}"
    has_scenario 2 && run_loadgen s2 "$s" "$rep" "${S2[@]}"
    has_scenario 2w && run_loadgen s2w "$s" "$rep" "${S2W[@]}"
    has_scenario 3 && run_loadgen s3 "$s" "$rep" "${S3[@]}"
    has_scenario 4 && run_loadgen s4 "$s" "$rep" "${S4[@]}"
    has_scenario 7 && run_wrk s7 "$s" "$rep" "$WRK_SECS"
    if has_scenario 8; then
      run_loadgen s8base "$s" "$rep" "${S8[@]}"
      run_loadgen s8slow "$s" "$rep" "${S8[@]}" --slow-subs 1
    fi
    has_scenario 9 && run_group s9 "$s" "$rep" "$S9_PROCS" "$S9_SUBS" "${S9[@]}"
    if [ "$s" = rtdemo ] && has_scenario kill; then
      CLUSTER_OPTS=--reuse-port run_group kill rtdemo "$rep" "$S9_PROCS" "$SK_SUBS" "${SK[@]}"
    fi
    if [ "$s" = rtdemo ] && has_scenario redis1; then
      # The same load on one instance, memory then Redis (the other order
      # on even repeats); redis1 runs through cluster.sh with 1 instance.
      if [ $((rep % 2)) = 1 ]; then
        BACKEND=memory run_loadgen redis1mem rtdemo "$rep" "${S10[@]}"
        INSTANCES=1 run_group redis1 rtdemo "$rep" 1 "${S10[1]}" "${S10[@]:2}"
      else
        INSTANCES=1 run_group redis1 rtdemo "$rep" 1 "${S10[1]}" "${S10[@]:2}"
        BACKEND=memory run_loadgen redis1mem rtdemo "$rep" "${S10[@]}"
      fi
    fi
  done
  if [ "$FLOOR" = 1 ]; then
    # Both ways of sending: one send() per socket, and io_uring batches as
    # rtdemo's hub loops use by default (rtdemo.hub.io-uring).
    has_scenario 1 && run_floor 1 "${F1[@]}" && run_floor 1 "${F1[@]}" --io-uring 1
    has_scenario 2 && run_floor 2 "${F2[@]}" && run_floor 2 "${F2[@]}" --io-uring 1
  fi
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
"$BENCH_DIR/report_table.sh" "$RESULTS" "$MODE" "$LOAD_START / $LOAD_END" \
  "$BACKEND"
if [ -s "$WORK/floor.txt" ]; then
  echo
  echo "Kernel floor: the same fan-out with no server (bench/send_floor.cc: 2 sending"
  echo "threads, one epoll reader), so what is left above it is the servers' own cost;"
  echo "measured with one send() per socket and with io_uring batches"
  cat "$WORK/floor.txt"
fi
