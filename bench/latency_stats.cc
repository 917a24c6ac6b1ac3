// Latency samples and their percentiles (see latency_stats.h).
#include "latency_stats.h"

#include <algorithm>
#include <cmath>

namespace bench {

void LatencyStats::finish() { std::sort(samples_us_.begin(), samples_us_.end()); }

double LatencyStats::percentileMs(double p) const {
  if (samples_us_.empty()) return 0;
  // Nearest-rank: the smallest sample with at least p% of samples <= it.
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * samples_us_.size()));
  if (rank == 0) rank = 1;
  if (rank > samples_us_.size()) rank = samples_us_.size();
  return samples_us_[rank - 1] / 1000.0;
}

double LatencyStats::maxMs() const {
  return samples_us_.empty() ? 0 : samples_us_.back() / 1000.0;
}

}  // namespace bench
