// RateLimiter: a token bucket per client address, for POST /send.
//
// Each address gets `burst` tokens that refill at `ratePerSecond`; a publish
// takes one. An empty bucket is a 429 whose Retry-After is the time until
// the next token. Buckets that have refilled completely carry no
// information, so they are dropped when the table grows (an attacker
// rotating addresses cannot grow memory without bound: at most
// kMaxTracked buckets are kept).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace rtdemo {

class RateLimiter {
 public:
  // ratePerSecond 0 turns the limiter off (take() always succeeds).
  RateLimiter(double ratePerSecond, double burst);

  // Takes one token for `key` at `nowMs` (a monotonic clock). Returns 0 when
  // allowed, else the whole seconds (>= 1) until a token is available.
  int take(const std::string& key, int64_t nowMs);

  static constexpr size_t kMaxTracked = 100000;

 private:
  struct Bucket {
    double tokens;
    int64_t updatedMs;
  };
  void evict(int64_t nowMs);

  // Constant after construction.
  const double rate_;
  const double burst_;

  std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace rtdemo
