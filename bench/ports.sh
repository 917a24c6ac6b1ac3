# Port helpers shared by bench/run.sh and tests/bench/loadgen_check.sh;
# source this file, do not run it.

# Prints a free loopback port below the ephemeral range, so that no client
# socket can take it between this check and the server's bind.
free_port() {
  local p
  for p in $(shuf -i 20000-32000 -n 100); do
    if ! ss -Htln "sport = :$p" | grep -q .; then echo "$p"; return 0; fi
  done
  echo "no free port in 20000-32000" >&2
  return 1
}

# wait_port PORT PID: waits up to 10 s until PORT accepts on 127.0.0.1.
# Fails at once if PID exits first (a bad option, a port taken meanwhile).
wait_port() {
  local port=$1 pid=$2 i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
