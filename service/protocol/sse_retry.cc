// Per-connection SSE retry delays (see sse_retry.h).
#include "service/protocol/sse_retry.h"

#include <random>

namespace rtdemo {
namespace sse {

int RetryDelay::next() const {
  if (jitterMs_ <= 0) return baseMs_;
  // One generator per thread: no lock on the stream-opening path. Seeded
  // from the OS so that instances started together do not draw alike.
  thread_local std::minstd_rand engine{std::random_device{}()};
  std::uniform_int_distribution<int> spread(0, jitterMs_);
  return baseMs_ + spread(engine);
}

}  // namespace sse
}  // namespace rtdemo
