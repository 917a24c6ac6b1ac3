// Token buckets per address (see rate_limiter.h).
#include "service/security/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace rtdemo {

RateLimiter::RateLimiter(double ratePerSecond, double burst)
    : rate_(ratePerSecond), burst_(std::max(1.0, burst)) {}

int RateLimiter::take(const std::string& key, int64_t nowMs) {
  if (rate_ <= 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxTracked) evict(nowMs);
    it = buckets_.emplace(key, Bucket{burst_, nowMs}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::max<int64_t>(0, nowMs - b.updatedMs) / 1000.0;
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.updatedMs = nowMs;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  double wait = (1.0 - b.tokens) / rate_;
  return std::max(1, static_cast<int>(std::ceil(wait)));
}

void RateLimiter::evict(int64_t nowMs) {
  // First drop every bucket that would be full by now: forgetting it changes
  // nothing. If that frees too little (addresses rotating faster than they
  // refill), drop an arbitrary half, so each eviction pays for many inserts
  // and a flood of new addresses costs O(1) per request.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    double refilled =
        it->second.tokens + (nowMs - it->second.updatedMs) / 1000.0 * rate_;
    it = refilled >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() < kMaxTracked * 3 / 4) return;
  for (auto it = buckets_.begin();
       it != buckets_.end() && buckets_.size() > kMaxTracked / 2;)
    it = buckets_.erase(it);
}

}  // namespace rtdemo
