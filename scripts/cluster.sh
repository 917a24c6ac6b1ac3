#!/usr/bin/env bash
# Several rtdemo instances on one Redis, on this machine: the demo of issue
# 22, and what bench/run.sh uses for its multi-instance scenario. Redis is the
# only thing the instances share; each has its own working (state) directory
# and its own port, so each one's /metrics and /healthz can be read apart.
#
#   scripts/cluster.sh run N [options] [-- RTDEMO_ARGS...]
#       starts N instances (and a redis-server, unless --redis-port) and
#       waits until Ctrl-C, then stops everything it started
#   scripts/cluster.sh start N --dir DIR [options] [-- RTDEMO_ARGS...]
#       the same, but returns once every instance accepts; DIR/cluster.env
#       then says where everything is (REDIS_PORT, REDIS_PID, PORTS, PIDS,
#       comma-separated, instance 1 first)
#   scripts/cluster.sh stop DIR
#       stops what `start` started in DIR (SIGTERM, SIGKILL after 10 s)
#
# Options:
#   --dir DIR          where the instances and Redis keep their files
#                      (run: a temporary directory, removed at the end)
#   --base-port P      instance i listens on P+i (run: 5000, so 5001...);
#                      0: each instance lets the kernel pick its port
#   --redis-port R     use the redis-server already on 127.0.0.1:R instead
#                      of starting one
#   --prefix S         rtdemo.redis.prefix of every instance (rtdemo:)
#   --rtdemo PATH      the binary (build/rtdemo)
#   --reuse-port       every instance on one port (rtdemo.reuse-port = on):
#                      --base-port itself (run: 5000; 0: the port instance 1
#                      got), and the kernel spreads connections among them
# Instance 1 runs the demo ticker (rtdemo.demo.interval.seconds); the others
# have it off, so the demo channel gets one message per tick, not N.
#
# Without --reuse-port, put a load balancer in front of the N ports
# (docs/scaling.md says what it must do for SSE and WebSocket).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# free_port, wait_port
. "$ROOT/bench/ports.sh"

usage() { sed -n '2,31p' "$0"; }
die() { echo "cluster.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || { usage >&2; exit 2; }
CMD=$1
shift

# stop_pids PID...: SIGTERM to each, SIGKILL to those still there after 10 s.
stop_pids() {
  local pids="$*" pid i
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 100); do
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in $pids; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "cluster.sh: $pid ignored SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

# stop_dir DIR: stops what DIR/pids records (only processes this script
# started are in it): the instances first, then the Redis it started, so no
# instance sees Redis go away while it shuts down.
stop_dir() {
  local dir=$1
  [ -f "$dir/pids" ] || return 0
  local redis_pid=
  [ -f "$dir/redis.pid" ] && redis_pid=$(cat "$dir/redis.pid")
  stop_pids $(grep -vx "${redis_pid:-none}" "$dir/pids" || true)
  [ -n "$redis_pid" ] && stop_pids "$redis_pid"
  rm -f "$dir/pids" "$dir/redis.pid"
}

if [ "$CMD" = stop ]; then
  [ $# -eq 1 ] || die "usage: cluster.sh stop DIR"
  stop_dir "$1"
  exit 0
fi
[ "$CMD" = run ] || [ "$CMD" = start ] || { usage >&2; exit 2; }
[ $# -ge 1 ] || die "$CMD needs the number of instances"
N=$1
shift
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "not a number of instances: $N"

DIR=
BASE_PORT=
REDIS_PORT=
PREFIX=rtdemo:
RTDEMO=$ROOT/build/rtdemo
REUSE_PORT=0
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift ;;
    --base-port) BASE_PORT=$2; shift ;;
    --redis-port) REDIS_PORT=$2; shift ;;
    --prefix) PREFIX=$2; shift ;;
    --rtdemo) RTDEMO=$2; shift ;;
    --reuse-port) REUSE_PORT=1 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) die "unknown option $1" ;;
  esac
  shift
done
[ -x "$RTDEMO" ] || die "$RTDEMO not found (scripts/build.sh builds it, or pass --rtdemo)"

TEMP_DIR=0
if [ -z "$DIR" ]; then
  [ "$CMD" = run ] || die "start needs --dir"
  DIR=$(mktemp -d /tmp/rtdemo-cluster.XXXXXX)
  TEMP_DIR=1
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[ -f "$DIR/pids" ] && die "$DIR already holds a running cluster (cluster.sh stop $DIR)"
: > "$DIR/pids"
if [ -z "$BASE_PORT" ]; then
  if [ "$CMD" = run ]; then BASE_PORT=5000; else BASE_PORT=0; fi
fi

# Anything that fails before the end of start stops what was started.
started_ok=0
on_exit() {
  if [ "$started_ok" = 0 ] || [ "$CMD" = run ]; then
    stop_dir "$DIR"
    [ "$TEMP_DIR" = 1 ] && rm -rf "$DIR"
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Every instance may hold up to the hard limit of descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

REDIS_PID=
if [ -z "$REDIS_PORT" ]; then
  command -v redis-server >/dev/null || die "redis-server is not installed (scripts/install-deps.sh)"
  REDIS_PORT=$(free_port)
  mkdir -p "$DIR/redis"
  # No snapshots, no AOF: the demo's history lives as long as this Redis.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DIR/redis" \
    --save '' --appendonly no --daemonize no --logfile "$DIR/redis/redis.log" &
  REDIS_PID=$!
  echo "$REDIS_PID" >> "$DIR/pids"
  echo "$REDIS_PID" > "$DIR/redis.pid"
  wait_port "$REDIS_PORT" "$REDIS_PID" || die "redis-server did not start ($DIR/redis/redis.log)"
fi

PORTS=()
PIDS=()
for i in $(seq 1 "$N"); do
  inst=$DIR/instance-$i
  mkdir -p "$inst/var"
  rm -f "$inst/port"
  port=0
  demo=()
  if [ "$REUSE_PORT" = 1 ]; then
    # All on one port: the base port, or the one instance 1 got.
    port=$BASE_PORT
    if [ "$i" != 1 ] && [ "$port" = 0 ]; then
      for t in $(seq 1 200); do [ -s "$DIR/instance-1/port" ] && break; sleep 0.05; done
      port=$(cat "$DIR/instance-1/port" 2>/dev/null || echo 0)
      [ "$port" != 0 ] || die "instance 1 did not start"
    fi
    demo=(-D rtdemo.reuse-port=on)
  elif [ "$BASE_PORT" != 0 ]; then
    port=$((BASE_PORT + i))
  fi
  [ "$i" != 1 ] && demo+=(-D rtdemo.demo.interval.seconds=0)
  # The working directory is the instance's state directory: relative
  # paths (rtdemo.sqlite.path, the port file) land there.
  (cd "$inst" && exec "$RTDEMO" --port "$port" --backend redis \
    -D rtdemo.redis.host=127.0.0.1 -D rtdemo.redis.port="$REDIS_PORT" \
    -D rtdemo.redis.prefix="$PREFIX" -D rtdemo.port-file="$inst/port" \
    ${demo[@]+"${demo[@]}"} ${EXTRA[@]+"${EXTRA[@]}"}) >"$inst/rtdemo.log" 2>&1 &
  PIDS+=($!)
  echo "$!" >> "$DIR/pids"
done
# rtdemo writes its port file once the port accepts.
for i in $(seq 1 "$N"); do
  inst=$DIR/instance-$i
  pid=${PIDS[$((i - 1))]}
  for t in $(seq 1 200); do
    [ -s "$inst/port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -s "$inst/port" ] || { tail -5 "$inst/rtdemo.log" >&2; die "instance $i did not start"; }
  PORTS+=("$(cat "$inst/port")")
done

join() { local IFS=,; echo "$*"; }
cat > "$DIR/cluster.env" <<EOF
REDIS_PORT=$REDIS_PORT
REDIS_PID=$REDIS_PID
PORTS=$(join "${PORTS[@]}")
PIDS=$(join "${PIDS[@]}")
EOF
started_ok=1
for i in $(seq 1 "$N"); do
  echo "instance $i: http://127.0.0.1:${PORTS[$((i - 1))]}/ (pid ${PIDS[$((i - 1))]}, $DIR/instance-$i)"
done
echo "redis: 127.0.0.1:$REDIS_PORT${REDIS_PID:+ (pid $REDIS_PID)}"
[ "$CMD" = start ] && exit 0

echo "Ctrl-C stops them all. A message sent to any instance reaches every one:"
echo "  curl -d channel=demo -d data=hello http://127.0.0.1:${PORTS[$((N > 1 ? 1 : 0))]}/send"
# Returns when any instance exits, or at Ctrl-C.
wait -n "${PIDS[@]}" || true
echo "cluster.sh: an instance exited; stopping the others" >&2
