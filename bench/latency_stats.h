// Latency samples and their percentiles. Every delivery is kept (4 bytes
// each, about 4 MB for a million deliveries) so percentiles are exact rather
// than bucketed; the tails are what the comparison with Nchan is about.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bench {

class LatencyStats {
 public:
  void add(int64_t ns) {
    samples_us_.push_back(ns <= 0 ? 0u : static_cast<uint32_t>(ns / 1000));
  }
  size_t count() const { return samples_us_.size(); }
  // Sorts once; percentile() and max() are valid afterwards.
  void finish();
  // p in [0, 100]; milliseconds. 0 when empty.
  double percentileMs(double p) const;
  double maxMs() const;

 private:
  std::vector<uint32_t> samples_us_;
};

}  // namespace bench
