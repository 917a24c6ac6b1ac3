#!/usr/bin/env bash
# Prints the comparison table of bench/run.sh from its results file (one
# "scenario server repeat key value" line per figure). Kept apart from run.sh
# so a table can be re-printed from a kept work directory (run.sh --keep)
# without running anything again. With several repeats, each cell is the
# median over them. Plain POSIX awk: mawk is what Debian ships.
#
#   bench/report_table.sh RESULTS.tsv [MODE] [LOADAVG] [BACKEND]
set -euo pipefail

RESULTS=$1
MODE=${2:-?}
LOADAVG=${3:-?}
BACKEND=${4:-memory}

awk -F'\t' -v mode="$MODE" -v loadavg="$LOADAVG" -v backend="$BACKEND" '
function median(list,    n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 2; i <= n; i++) {
    t = a[i] + 0
    for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
    a[j + 1] = t
  }
  if (n == 0) return ""
  if (n % 2) return a[(n + 1) / 2]
  return (a[n / 2] + a[n / 2 + 1]) / 2
}
function val(scen, server, key) {
  k = scen SUBSEP server SUBSEP key
  return (k in vals) ? median(vals[k]) : ""
}
function fmt(v, key) {
  if (v == "") return "-"
  if (key ~ /pct$/) return sprintf("%.2f%%", v)
  if (key == "req_per_s" || key == "publish_rate") return sprintf("%.0f", v)
  if (key ~ /_ms$/ || key ~ /_s$/) return sprintf("%.1f", v)
  return sprintf("%.0f", v)
}
# The value of a key from either server (both run the same load).
function either(scen, key) {
  return val(scen, "nchan", key) != "" ? val(scen, "nchan", key) : val(scen, "rtdemo", key)
}
function ran(scen) {
  return ((scen SUBSEP "nchan") in seen) || ((scen SUBSEP "rtdemo") in seen)
}
function ratio_of(a, b) {
  return (a != "" && b != "" && b + 0 != 0) ? sprintf("%.2f", a / b) : "-"
}
# wsrow SSE_SCEN WS_SCEN KEY LABEL: one figure over SSE and WebSocket, per
# server, with ws / sse.
function wsrow(title, sse, ws, key, label,    ns, nw, rs, rw) {
  ns = val(sse, "nchan", key); nw = val(ws, "nchan", key)
  rs = val(sse, "rtdemo", key); rw = val(ws, "rtdemo", key)
  printf "%-30s %-26s %9s %9s %7s   %9s %9s %7s\n", title, label, fmt(ns, key), fmt(nw, key), ratio_of(nw, ns), fmt(rs, key), fmt(rw, key), ratio_of(rw, rs)
}
# dsrow TITLE KEY LABEL: one rtdemo figure for /events (s1) and Durable
# Streams readers (s1d), with ds / events.
function dsrow(title, key, label,    e, d) {
  e = val("s1", "rtdemo", key); d = val("s1d", "rtdemo", key)
  printf "%-30s %-26s %9s %9s %7s\n", title, label, fmt(e, key), fmt(d, key), ratio_of(d, e)
}
# row SCEN KEY LABEL BETTER(lower|higher|none)
function row(title, scen, key, label, better,    n, r, ratio, verdict) {
  n = val(scen, "nchan", key)
  r = val(scen, "rtdemo", key)
  ratio = "-"; verdict = ""
  if (n != "" && r != "" && n + 0 != 0) {
    ratio = sprintf("%.2f", r / n)
    if (better == "lower") verdict = (r < n) ? "rtdemo" : (r > n) ? "nchan" : "tie"
    if (better == "higher") verdict = (r > n) ? "rtdemo" : (r < n) ? "nchan" : "tie"
  } else if (n != "" && r != "" && better != "none") {
    if (better == "lower") verdict = (r + 0 < n + 0) ? "rtdemo" : (r + 0 > n + 0) ? "nchan" : "tie"
    if (better == "higher") verdict = (r + 0 > n + 0) ? "rtdemo" : (r + 0 < n + 0) ? "nchan" : "tie"
  }
  printf "%-44s %-26s %12s %12s %9s  %s\n", title, label, fmt(n, key), fmt(r, key), ratio, verdict
}
{
  # -1: not measured (Nchan has no bus process).
  if ($4 == "bus_cpu_s" && $5 + 0 < 0) next
  k = $1 SUBSEP $2 SUBSEP $4
  vals[k] = (k in vals) ? vals[k] " " $5 : $5
  reps[$3] = 1
  seen[$1 SUBSEP $2] = 1
  if ($4 == "recv") recvs[$5] = 1
}
END {
  nrep = 0; for (r in reps) nrep++
  printf "\nrtdemo (%s backend) vs Nchan, %s mode, %d run(s), medians; ratio = rtdemo / nchan\n", backend, mode, nrep
  printf "machine load average (1/5/15 min) at start / end: %s\n", loadavg
  # Read latency depends on how the load generator receives (see
  # bench/batch_receiver.h); a mix means some runs fell back.
  how = ""; nhow = 0
  for (h in recvs) { how = how (nhow++ ? " and " : "") h }
  if (how != "") printf "load generator received with: %s%s\n", how, (nhow > 1 ? " (MIXED: read latencies are not comparable)" : "")
  printf "latency: publish to read by the load generator; arrival: publish to the\n"
  printf "kernel receive timestamp on the subscriber socket (see bench/README.md)\n"
  printf "%-44s %-26s %12s %12s %9s  %s\n", "scenario", "metric", "nchan", "rtdemo", "ratio", "better"
  printf "%s\n", "-------------------------------------------------------------------------------------------------------------------"
  t1 = sprintf("(1) %s SSE subs, 1 channel, 5 msg/s", val("s1", "nchan", "subs") != "" ? val("s1", "nchan", "subs") : val("s1", "rtdemo", "subs"))
  t2 = sprintf("(2) %s SSE subs, 1 channel, 50 msg/s", val("s2", "nchan", "subs") != "" ? val("s2", "nchan", "subs") : val("s2", "rtdemo", "subs"))
  t3 = sprintf("(3) %s SSE subs, %s ch, %s msg/s", val("s3", "nchan", "subs") != "" ? val("s3", "nchan", "subs") : val("s3", "rtdemo", "subs"), val("s3", "nchan", "channels") != "" ? val("s3", "nchan", "channels") : val("s3", "rtdemo", "channels"), val("s3", "nchan", "rate") != "" ? val("s3", "nchan", "rate") : val("s3", "rtdemo", "rate"))
  t4 = sprintf("(4) %s long-poll clients, 5 msg/s", val("s4", "nchan", "subs") != "" ? val("s4", "nchan", "subs") : val("s4", "rtdemo", "subs"))
  if (("s1" SUBSEP "nchan") in seen || ("s1" SUBSEP "rtdemo") in seen) {
    row(t1, "s1", "subscribed", "subscribed", "higher")
    row("", "s1", "delivered_pct", "delivered", "higher")
    row("", "s1", "publish_rate", "publish rate msg/s", "higher")
    row("", "s1", "lat_p50_ms", "latency p50 ms", "lower")
    row("", "s1", "lat_p99_ms", "latency p99 ms", "lower")
    row("", "s1", "arr_p50_ms", "arrival p50 ms", "lower")
    row("", "s1", "arr_p99_ms", "arrival p99 ms", "lower")
    row("", "s1", "lat_max_ms", "latency max ms", "lower")
    row("", "s1", "pub_p99_ms", "publish answer p99 ms", "lower")
    row("", "s1", "server_cpu_s", "server CPU s, publish+drain", "lower")
  }
  if (("s2" SUBSEP "nchan") in seen || ("s2" SUBSEP "rtdemo") in seen) {
    row(t2, "s2", "delivered_pct", "delivered", "higher")
    row("", "s2", "publish_rate", "publish rate msg/s", "higher")
    row("", "s2", "lat_p50_ms", "latency p50 ms", "lower")
    row("", "s2", "lat_p99_ms", "latency p99 ms", "lower")
    row("", "s2", "arr_p50_ms", "arrival p50 ms", "lower")
    row("", "s2", "arr_p99_ms", "arrival p99 ms", "lower")
    row("", "s2", "lat_max_ms", "latency max ms", "lower")
    row("", "s2", "pub_p99_ms", "publish answer p99 ms", "lower")
    row("", "s2", "server_cpu_s", "server CPU s, publish+drain", "lower")
  }
  if (ran("s1w")) {
    row(sprintf("(1w) %s WS subs, 1 channel, 5 msg/s", either("s1w", "subs")), "s1w", "subscribed", "subscribed", "higher")
    row("", "s1w", "delivered_pct", "delivered", "higher")
    row("", "s1w", "publish_rate", "publish rate msg/s", "higher")
    row("", "s1w", "lat_p50_ms", "latency p50 ms", "lower")
    row("", "s1w", "lat_p99_ms", "latency p99 ms", "lower")
    row("", "s1w", "arr_p50_ms", "arrival p50 ms", "lower")
    row("", "s1w", "arr_p99_ms", "arrival p99 ms", "lower")
    row("", "s1w", "lat_max_ms", "latency max ms", "lower")
    row("", "s1w", "pub_p99_ms", "publish answer p99 ms", "lower")
    row("", "s1w", "server_cpu_s", "server CPU s, publish+drain", "lower")
    row("", "s1w", "rss_per_sub_b", "RSS per idle sub, bytes", "lower")
    row("", "s1w", "connect_s", "all subscribed, s", "lower")
    row("", "s1w", "conn_p99_ms", "one connect p99 ms", "lower")
    row("", "s1w", "connect_failures", "failed attempts", "lower")
    row("", "s1w", "ws_errors", "WebSocket protocol errors", "lower")
  }
  if (ran("s2w")) {
    row(sprintf("(2w) %s WS subs, 1 channel, 50 msg/s", either("s2w", "subs")), "s2w", "delivered_pct", "delivered", "higher")
    row("", "s2w", "publish_rate", "publish rate msg/s", "higher")
    row("", "s2w", "lat_p50_ms", "latency p50 ms", "lower")
    row("", "s2w", "lat_p99_ms", "latency p99 ms", "lower")
    row("", "s2w", "arr_p50_ms", "arrival p50 ms", "lower")
    row("", "s2w", "arr_p99_ms", "arrival p99 ms", "lower")
    row("", "s2w", "lat_max_ms", "latency max ms", "lower")
    row("", "s2w", "pub_p99_ms", "publish answer p99 ms", "lower")
    row("", "s2w", "server_cpu_s", "server CPU s, publish+drain", "lower")
    row("", "s2w", "ws_errors", "WebSocket protocol errors", "lower")
  }
  if (("s3" SUBSEP "nchan") in seen || ("s3" SUBSEP "rtdemo") in seen) {
    row(t3, "s3", "delivered_pct", "delivered", "higher")
    row("", "s3", "publish_rate", "publish rate msg/s", "higher")
    row("", "s3", "lat_p50_ms", "latency p50 ms", "lower")
    row("", "s3", "lat_p99_ms", "latency p99 ms", "lower")
    row("", "s3", "arr_p50_ms", "arrival p50 ms", "lower")
    row("", "s3", "arr_p99_ms", "arrival p99 ms", "lower")
    row("", "s3", "lat_max_ms", "latency max ms", "lower")
    row("", "s3", "pub_p99_ms", "publish answer p99 ms", "lower")
    row("", "s3", "server_cpu_s", "server CPU s, publish+drain", "lower")
  }
  if (("s4" SUBSEP "nchan") in seen || ("s4" SUBSEP "rtdemo") in seen) {
    row(t4, "s4", "delivered_pct", "delivered", "higher")
    row("", "s4", "gaps", "gaps", "lower")
    row("", "s4", "missing", "missing messages", "lower")
    row("", "s4", "dups", "duplicates", "lower")
    row("", "s4", "lat_p50_ms", "latency p50 ms", "lower")
    row("", "s4", "lat_p99_ms", "latency p99 ms", "lower")
    row("", "s4", "arr_p50_ms", "arrival p50 ms", "lower")
    row("", "s4", "arr_p99_ms", "arrival p99 ms", "lower")
    row("", "s4", "polls", "poll answers", "none")
    row("", "s4", "server_cpu_s", "server CPU s, publish+drain", "lower")
  }
  if (("s1" SUBSEP "nchan") in seen || ("s1" SUBSEP "rtdemo") in seen) {
    row("(5) RSS per idle subscriber (from 1)", "s1", "rss_per_sub_b", "bytes", "lower")
    row("", "s1", "rss_idle_kb", "RSS with idle subs kB", "lower")
    row("(6) time to connect (from 1)", "s1", "connect_s", "all subscribed, s", "lower")
    row("", "s1", "conn_p99_ms", "one connect p99 ms", "lower")
    row("", "s1", "connect_failures", "failed attempts", "lower")
  }
  if (("s7" SUBSEP "nchan") in seen || ("s7" SUBSEP "rtdemo") in seen) {
    row("(7) publish throughput, wrk -t2 -c32", "s7", "req_per_s", "requests/s", "higher")
    row("", "s7", "wrk_p99_ms", "request p99 ms", "lower")
    row("", "s7", "non2xx", "non-2xx answers", "lower")
  }
  if (("s8base" SUBSEP "nchan") in seen || ("s8base" SUBSEP "rtdemo") in seen) {
    row("(8) one subscriber that never reads", "s8base", "lat_p99_ms", "others p99 ms, without", "lower")
    row("", "s8slow", "lat_p99_ms", "others p99 ms, with", "lower")
    row("", "s8slow", "arr_p99_ms", "others arrival p99 ms, with", "lower")
    row("", "s8slow", "delivered_pct", "others delivered, with", "higher")
    row("", "s8slow", "slow_cut", "slow one cut off (1=yes)", "higher")
    row("", "s8slow", "slow_bytes", "bytes left for it", "none")
    row("", "s8slow", "rss_end_kb", "server RSS at end kB", "lower")
  }
  if (ran("s9")) {
    row(sprintf("(9) %s SSE subs, 1 ch, %s msg/s, %s loadgens", either("s9", "subs"), either("s9", "rate"), either("s9", "procs")), "s9", "subscribed", "subscribed", "higher")
    row("  nchan: N workers; rtdemo: N instances", "s9", "delivered_pct", "delivered", "higher")
    row("  + one redis-server", "s9", "arr_p50_ms", "arrival p50 ms", "lower")
    row("", "s9", "arr_p99_ms", "arrival p99 ms", "lower")
    row("", "s9", "arr_max_ms", "arrival max ms", "lower")
    row("", "s9", "lat_p99_ms", "latency p99 ms", "lower")
    row("", "s9", "pub_p99_ms", "publish answer p99 ms", "lower")
    row("", "s9", "rss_per_sub_b", "RSS per idle sub, bytes", "lower")
    row("", "s9", "rss_idle_kb", "RSS with idle subs kB", "lower")
    row("", "s9", "server_cpu_s", "server CPU s, publish+drain", "lower")
    row("", "s9", "bus_cpu_s", "redis-server CPU s, same", "none")
    row("", "s9", "loadgen_cpu_s", "loadgens CPU s, same", "none")
    row("", "s9", "connect_s", "all subscribed, s", "lower")
    row("", "s9", "connect_failures", "failed attempts", "lower")
    row("", "s9", "procs_missing", "loadgens that never reported", "lower")
  }
  if (ran("kill")) {
    printf "\n(kill) %s SSE subs on %s loadgens, one port (reuse-port), 1 msg/s; the busiest\n", val("kill", "rtdemo", "subs"), val("kill", "rtdemo", "procs")
    printf "instance SIGKILLed, its clients resume with Last-Event-ID after their retry:\n"
    split("dropped resumed_pct resume_all_s resume_p50_ms resume_p99_ms resume_max_ms resume_failures subs_gapped subs_duped missing dups before_p99_ms storm_p99_ms storm_n", ks, " ")
    split("streams dropped (the killed instance clients)|resumed|all resumed, s after the kill|per stream, lost to reopened p50 ms|p99 ms|max ms|failed resume attempts|resumed with a gap|resumed with a duplicate|missing messages (all subs)|duplicates (all subs)|survivors: arrival p99 ms before the kill|survivors: arrival p99 ms during the storm|deliveries in that window", ls, "|")
    for (i = 1; i <= 14; i++) printf "  %-52s %12s\n", ls[i], fmt(val("kill", "rtdemo", ks[i]), ks[i])
  }
  if (ran("redis1") || ran("redis1mem")) {
    printf "\n(redis1) %s SSE subs on one rtdemo instance, same run; ratio = redis / memory\n", val("redis1", "rtdemo", "subs") != "" ? val("redis1", "rtdemo", "subs") : val("redis1mem", "rtdemo", "subs")
    printf "  %-30s %12s %12s %9s\n", "metric", "memory", "redis", "ratio"
    split("subscribed delivered_pct arr_p50_ms arr_p99_ms arr_max_ms lat_p99_ms pub_p99_ms server_cpu_s bus_cpu_s", ks, " ")
    for (i = 1; i <= 9; i++) {
      m = val("redis1mem", "rtdemo", ks[i]); r = val("redis1", "rtdemo", ks[i])
      printf "  %-30s %12s %12s %9s\n", ks[i], fmt(m, ks[i]), fmt(r, ks[i]), ratio_of(r, m)
    }
  }
  if ((ran("s1") && ran("s1w")) || (ran("s2") && ran("s2w"))) {
    printf "\nWebSocket against SSE, same load and server; ratio = ws / sse\n"
    printf "%-30s %-26s %9s %9s %7s   %9s %9s %7s\n", "scenario", "metric", "nchan sse", "nchan ws", "ratio", "rtd sse", "rtd ws", "ratio"
    printf "%s\n", "-------------------------------------------------------------------------------------------------------------------"
  }
  if (ran("s1") && ran("s1w")) {
    wsrow(sprintf("(1/1w) %s subs, 5 msg/s", either("s1w", "subs")), "s1", "s1w", "delivered_pct", "delivered")
    wsrow("", "s1", "s1w", "lat_p50_ms", "latency p50 ms")
    wsrow("", "s1", "s1w", "lat_p99_ms", "latency p99 ms")
    wsrow("", "s1", "s1w", "arr_p99_ms", "arrival p99 ms")
    wsrow("", "s1", "s1w", "lat_max_ms", "latency max ms")
    wsrow("", "s1", "s1w", "server_cpu_s", "server CPU s, publish+drain")
    wsrow("", "s1", "s1w", "loadgen_cpu_s", "loadgen CPU s")
    wsrow("", "s1", "s1w", "rss_per_sub_b", "RSS per idle sub, bytes")
    wsrow("", "s1", "s1w", "connect_s", "all subscribed, s")
  }
  if (ran("s2") && ran("s2w")) {
    wsrow(sprintf("(2/2w) %s subs, 50 msg/s", either("s2w", "subs")), "s2", "s2w", "delivered_pct", "delivered")
    wsrow("", "s2", "s2w", "lat_p50_ms", "latency p50 ms")
    wsrow("", "s2", "s2w", "lat_p99_ms", "latency p99 ms")
    wsrow("", "s2", "s2w", "arr_p99_ms", "arrival p99 ms")
    wsrow("", "s2", "s2w", "lat_max_ms", "latency max ms")
    wsrow("", "s2", "s2w", "server_cpu_s", "server CPU s, publish+drain")
    wsrow("", "s2", "s2w", "loadgen_cpu_s", "loadgen CPU s")
  }
  if (ran("s1") && ran("s1d")) {
    printf "\nDurable Streams readers (live=sse on /v1/stream) against /events, rtdemo, same load; ratio = ds / events\n"
    printf "%-30s %-26s %9s %9s %7s\n", "scenario", "metric", "/events", "ds", "ratio"
    printf "%s\n", "-----------------------------------------------------------------------------------"
    dsrow(sprintf("(1/1d) %s readers, 5 msg/s", either("s1d", "subs")), "subscribed", "subscribed")
    dsrow("", "delivered_pct", "delivered")
    dsrow("", "lat_p50_ms", "latency p50 ms")
    dsrow("", "lat_p99_ms", "latency p99 ms")
    dsrow("", "arr_p50_ms", "arrival p50 ms")
    dsrow("", "arr_p99_ms", "arrival p99 ms")
    dsrow("", "lat_max_ms", "latency max ms")
    dsrow("", "server_cpu_s", "server CPU s, publish+drain")
    dsrow("", "rss_per_sub_b", "RSS per idle reader, bytes")
    dsrow("", "connect_s", "all subscribed, s")
    dsrow("", "ds_reconnects", "reads resumed (ds)")
  }
  for (k in vals) {
    split(k, p, SUBSEP)
    if (p[3] == "server_died" || p[3] == "failed")
      printf "WARNING: %s %s: %s in %d run(s)\n", p[2], p[1], p[3], split(vals[k], z, " ")
    # A stamp before its publish or after its read means the clock
    # conversion went wrong (a step of the wall clock): the arrival figures
    # of that scenario cannot be trusted.
    if (p[3] == "stamps_outside" && median(vals[k]) + 0 > 0)
      printf "WARNING: %s %s: %s receive timestamps outside [publish, read]; arrival figures unreliable\n", p[2], p[1], median(vals[k])
  }
}' "$RESULTS"
