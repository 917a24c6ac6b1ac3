// Latency samples and their percentiles. Every delivery is kept (4 bytes
// each, about 4 MB for a million deliveries) so percentiles are exact rather
// than bucketed; the tails are what the comparison with Nchan is about.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bench {

// Gives v room for n elements and touches that memory now. A vector that
// doubles while deliveries are being timed stalls the one reader thread: with
// --timeline, the copies and page faults at 131k and 262k samples took 20-35
// ms on this VM, and every delivery in flight then was charged with them.
template <typename T>
void reservePrefaulted(std::vector<T>* v, size_t n) {
  if (n <= v->capacity()) return;
  std::vector<T> fresh;
  fresh.reserve(n);
  fresh.assign(v->begin(), v->end());
  fresh.resize(n);  // writes every page of the block
  fresh.resize(v->size());
  v->swap(fresh);
}

class LatencyStats {
 public:
  // Call before timing starts, with the number of samples expected.
  void reserve(size_t n) { reservePrefaulted(&samples_us_, n); }
  void add(int64_t ns) {
    samples_us_.push_back(ns <= 0 ? 0u : static_cast<uint32_t>(ns / 1000));
  }
  size_t count() const { return samples_us_.size(); }
  // The samples in µs, for another process to merge (load_group.h).
  const std::vector<uint32_t>& samples() const { return samples_us_; }
  std::vector<uint32_t>* mutableSamples() { return &samples_us_; }
  // Sorts once; percentile() and max() are valid afterwards.
  void finish();
  // p in [0, 100]; milliseconds. 0 when empty.
  double percentileMs(double p) const;
  double maxMs() const;

 private:
  std::vector<uint32_t> samples_us_;
};

}  // namespace bench
