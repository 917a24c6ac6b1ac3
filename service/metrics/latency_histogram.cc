// Implementation of LatencyHistogram (see latency_histogram.h).
#include "service/metrics/latency_histogram.h"

namespace rtdemo {

LatencyHistogram::LatencyHistogram() {
  for (size_t i = 0; i < kBoundsSeconds.size(); ++i)
    boundsNs_[i] = static_cast<uint64_t>(kBoundsSeconds[i] * 1e9 + 0.5);
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
}

void LatencyHistogram::observe(std::chrono::nanoseconds duration) {
  uint64_t ns = duration.count() > 0 ? static_cast<uint64_t>(duration.count()) : 0;
  size_t i = 0;
  while (i < boundsNs_.size() && ns > boundsNs_[i]) ++i;  // `le`: bound inclusive
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sumNs_.fetch_add(ns, std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(buckets_.size());
  uint64_t running = 0;
  for (const auto& b : buckets_) {
    running += b.load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sumSeconds = static_cast<double>(sumNs_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

}  // namespace rtdemo
