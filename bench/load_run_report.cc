// LoadRun's output (load_run.h): the per-message timeline TSV (--timeline)
// and the one report with its RESULT line that bench/run.sh parses. Printed
// by the run alone, or by member 0 of a group once it merged the others'
// samples (load_run_group.cc).
#include "load_run.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "net_util.h"

namespace bench {

void LoadRun::writeTimeline(double* worst_p50_ms) {
  *worst_p50_ms = 0;
  if (options_.timeline_path.empty()) return;
  FILE* f = std::fopen(options_.timeline_path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", options_.timeline_path.c_str());
    return;
  }
  std::sort(samples_.begin(), samples_.end());
  std::sort(arrival_samples_.begin(), arrival_samples_.end());
  // Both vectors are sorted by (message, µs): one cursor each walks the
  // deliveries of message k and yields their count, min, median and max.
  struct Cursor {
    const std::vector<std::pair<uint32_t, uint32_t>>& v;
    size_t i = 0;
    size_t n = 0;
    double mn = 0, med = 0, mx = 0;
    void next(size_t k) {
      size_t j = i;
      while (j < v.size() && v[j].first == k) ++j;
      n = j - i;
      mn = n ? v[i].second / 1000.0 : 0;
      med = n ? v[i + (n - 1) / 2].second / 1000.0 : 0;
      mx = n ? v[j - 1].second / 1000.0 : 0;
      i = j;
    }
  };
  Cursor read{samples_};
  Cursor arrival{arrival_samples_};
  std::fprintf(f, "msg\tchannel\tseq\tsent_ms\treceived\tmin_ms\tp50_ms\t"
                  "max_ms\tarrival_min_ms\tarrival_p50_ms\tarrival_max_ms\n");
  for (size_t k = 0; k < sent_ns_.size(); ++k) {
    read.next(k);
    arrival.next(k);
    if (read.med > *worst_p50_ms) *worst_p50_ms = read.med;
    std::fprintf(f, "%zu\t%zu\t%zu\t%.1f\t%zu\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n",
                 k, k % options_.channels, k / options_.channels,
                 sent_ns_[k] ? (sent_ns_[k] - publish_start_ns_) / 1e6 : -1.0,
                 read.n, read.mn, read.med, read.mx, arrival.mn, arrival.med,
                 arrival.mx);
  }
  std::fclose(f);
}

void LoadRun::report(double connect_s, long rss_before, long rss_idle,
                     long rss_end, double publish_s, double server_cpu_s,
                     double self_cpu_s) {
  const Options& o = options_;
  double worst_p50_ms = 0;
  writeTimeline(&worst_p50_ms);
  latency_.finish();
  arrival_.finish();
  connect_latency_.finish();
  publish_rtt_.finish();
  publish_lag_.finish();
  const Counters& c = counters_;
  // In a group, the subscribers of every member (members_subs_ is 0 alone).
  const int subs = o.subs + members_subs_;
  uint64_t exp = expected() + members_expected_;
  uint64_t missing = exp > c.delivered ? exp - c.delivered : 0;
  uint64_t publish_ok = 0;
  for (const ChannelState& ch : channels_) publish_ok += ch.published_ok;
  double rate = publish_s > 0 ? (published_count_ - 1) / publish_s : 0;
  long per_sub = -1;
  if (rss_before >= 0 && rss_idle >= 0 && c.subscribed > 0) {
    per_sub = (rss_idle - rss_before) * 1024 / c.subscribed;
  }

  std::printf(
      "%s %s: subscribed %d/%d in %.2f s (connect p50 %.1f ms, p99 %.1f ms, "
      "max %.1f ms; %d failed attempts, %d gave up)\n",
      serverName(o.server), modeName(o.mode), c.subscribed, subs, connect_s,
      connect_latency_.percentileMs(50), connect_latency_.percentileMs(99),
      connect_latency_.maxMs(), c.connect_failures, c.gave_up);
  std::printf(
      "  published %d (%llu ok, %llu errors) at %.1f msg/s; answer p50 %.1f "
      "ms, p99 %.1f ms; behind schedule p99 %.1f ms, max %.1f ms\n",
      published_count_, static_cast<unsigned long long>(publish_ok),
      static_cast<unsigned long long>(c.publish_errors), rate,
      publish_rtt_.percentileMs(50), publish_rtt_.percentileMs(99),
      publish_lag_.percentileMs(99), publish_lag_.maxMs());
  std::printf(
      "  delivered %llu/%llu (missing %llu in %llu gaps, %llu late, %llu dups, "
      "%llu disconnects, %llu resets)\n",
      static_cast<unsigned long long>(c.delivered),
      static_cast<unsigned long long>(exp),
      static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(c.gaps),
      static_cast<unsigned long long>(c.late),
      static_cast<unsigned long long>(c.duplicates),
      static_cast<unsigned long long>(c.disconnects),
      static_cast<unsigned long long>(c.resets));
  if (o.mode == Mode::kWs) {
    std::printf("  WebSocket: %llu pings answered, %llu closes from the server, "
                "%llu protocol errors\n",
                static_cast<unsigned long long>(c.ws_pongs),
                static_cast<unsigned long long>(c.ws_closes),
                static_cast<unsigned long long>(c.ws_errors));
  }
  std::printf("  latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              latency_.percentileMs(50), latency_.percentileMs(90),
              latency_.percentileMs(99), latency_.maxMs());
  std::printf("  arrival p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms "
              "(kernel receive timestamps: %llu of %llu deliveries, %llu out "
              "of order with publish and read)\n",
              arrival_.percentileMs(50), arrival_.percentileMs(90),
              arrival_.percentileMs(99), arrival_.maxMs(),
              static_cast<unsigned long long>(c.stamped),
              static_cast<unsigned long long>(c.delivered),
              static_cast<unsigned long long>(c.stamps_outside));
  std::printf("  server RSS %ld kB before, %ld kB idle, %ld kB end; %ld B per "
              "idle subscriber\n",
              rss_before, rss_idle, rss_end, per_sub);
  std::printf("  CPU while publishing and draining: server %.2f s, loadgen "
              "%.2f s (receiving with %s)\n",
              server_cpu_s, self_cpu_s,
              batch_->usesIoUring() ? "io_uring batches"
                                    : "one recvmsg() per socket");
  if (!o.timeline_path.empty()) {
    std::printf("  per-message timeline in %s; worst message median %.1f ms\n",
                o.timeline_path.c_str(), worst_p50_ms);
  }
  if (o.slow_subs > 0) {
    std::printf("  slow subscribers: %d/%d cut off by the server, %llu B read "
                "at the end\n",
                c.slow_cut, o.slow_subs,
                static_cast<unsigned long long>(c.slow_bytes));
  }
  // One machine-readable line for bench/run.sh.
  std::printf(
      "RESULT label=%s server=%s mode=%s subs=%d channels=%d rate=%.1f "
      "subscribed=%d "
      "connect_s=%.3f conn_p50_ms=%.1f conn_p99_ms=%.1f conn_max_ms=%.1f "
      "connect_failures=%d gave_up=%d published=%d publish_ok=%llu "
      "publish_errors=%llu publish_rate=%.1f expected=%llu delivered=%llu "
      "missing=%llu gaps=%llu late=%llu dups=%llu misrouted=%llu "
      "resets=%llu disconnects=%llu polls=%llu poll_reconnects=%llu "
      "http_errors=%llu lat_p50_ms=%.1f lat_p90_ms=%.1f lat_p99_ms=%.1f "
      "lat_max_ms=%.1f rss_before_kb=%ld rss_idle_kb=%ld rss_end_kb=%ld "
      "rss_per_sub_b=%ld slow=%d slow_cut=%d slow_bytes=%llu "
      "delivered_pct=%.2f server_cpu_s=%.2f loadgen_cpu_s=%.2f "
      "pub_p50_ms=%.1f pub_p99_ms=%.1f pub_lag_p99_ms=%.1f ws_pongs=%llu "
      "ws_closes=%llu ws_errors=%llu",
      o.label.empty() ? "-" : o.label.c_str(), serverName(o.server),
      modeName(o.mode), subs, o.channels, o.rate, c.subscribed, connect_s,
      connect_latency_.percentileMs(50), connect_latency_.percentileMs(99),
      connect_latency_.maxMs(), c.connect_failures, c.gave_up,
      published_count_, static_cast<unsigned long long>(publish_ok),
      static_cast<unsigned long long>(c.publish_errors), rate,
      static_cast<unsigned long long>(exp),
      static_cast<unsigned long long>(c.delivered),
      static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(c.gaps),
      static_cast<unsigned long long>(c.late),
      static_cast<unsigned long long>(c.duplicates),
      static_cast<unsigned long long>(c.misrouted),
      static_cast<unsigned long long>(c.resets),
      static_cast<unsigned long long>(c.disconnects),
      static_cast<unsigned long long>(c.polls),
      static_cast<unsigned long long>(c.poll_reconnects),
      static_cast<unsigned long long>(c.http_errors),
      latency_.percentileMs(50), latency_.percentileMs(90),
      latency_.percentileMs(99), latency_.maxMs(), rss_before, rss_idle,
      rss_end, per_sub, o.slow_subs, c.slow_cut,
      static_cast<unsigned long long>(c.slow_bytes),
      exp > 0 ? 100.0 * static_cast<double>(c.delivered) / exp : 0.0,
      server_cpu_s, self_cpu_s, publish_rtt_.percentileMs(50),
      publish_rtt_.percentileMs(99), publish_lag_.percentileMs(99),
      static_cast<unsigned long long>(c.ws_pongs),
      static_cast<unsigned long long>(c.ws_closes),
      static_cast<unsigned long long>(c.ws_errors));
  std::printf(
      " arr_p50_ms=%.1f arr_p90_ms=%.1f arr_p99_ms=%.1f arr_max_ms=%.1f "
      "stamped=%llu stamps_outside=%llu recv=%s procs=%d procs_missing=%d "
      "bus_cpu_s=%.2f ds_reconnects=%llu",
      arrival_.percentileMs(50), arrival_.percentileMs(90),
      arrival_.percentileMs(99), arrival_.maxMs(),
      static_cast<unsigned long long>(c.stamped),
      static_cast<unsigned long long>(c.stamps_outside),
      batch_->usesIoUring() ? "io_uring" : "recvmsg", o.group_size,
      members_missing_, bus_cpu_s_,
      static_cast<unsigned long long>(c.ds_reconnects));
  reportResumes();
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace bench
