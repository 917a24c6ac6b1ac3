// LatencyHistogram: a fixed-bucket, lock-free histogram of durations, for the
// publish-latency series of /metrics (rtdemo_publish_duration_seconds).
//
// observe() sits on the POST /send hot path, so it is a short scan over a
// dozen bucket bounds and three relaxed atomic increments: no lock, no
// allocation. snapshot() may run concurrently with observers; it can miss an
// observation in flight or count it in a bucket before its duration reaches
// the sum, which a scrape tolerates (the next one sees it). Count is derived
// from the buckets, so `_count` always equals the `+Inf` bucket, as
// Prometheus requires.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace rtdemo {

class LatencyHistogram {
 public:
  // Upper bounds of the finite buckets, in seconds (Prometheus' `le`). They
  // span an in-memory publish (tens of µs) to a SQLite commit with fsync on a
  // slow disk, or a Redis timeout (seconds).
  static constexpr std::array<double, 14> kBoundsSeconds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};

  LatencyHistogram();

  void observe(std::chrono::nanoseconds duration);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    uint64_t count = 0;
    double sumSeconds = 0;
  };
  Snapshot snapshot() const;

 private:
  // Constant after construction: kBoundsSeconds in nanoseconds.
  std::array<uint64_t, kBoundsSeconds.size()> boundsNs_;
  // Per-bucket (not cumulative) counts; the last is +Inf.
  std::array<std::atomic<uint64_t>, kBoundsSeconds.size() + 1> buckets_;
  std::atomic<uint64_t> sumNs_{0};
};

}  // namespace rtdemo
