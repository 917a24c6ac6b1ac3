// Clocks: wall time for message timestamps and retention ages, monotonic
// time for deadlines. Storage and service share these.
//
// WallClock is the wall time a backend stamps and ages history by. It is an
// interface so that tests can step it back and forth (an NTP step, a VM that
// resumes) and check that retention never assumes time only rises; everything
// else uses systemWallClock(). Implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace rtdemo {

inline int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// Monotonic milliseconds, for deadlines and timers that must not jump.
inline int64_t steadyMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
      .count();
}

class WallClock {
 public:
  virtual ~WallClock() = default;
  // Milliseconds since the Unix epoch. May go backwards.
  virtual int64_t nowMs() const = 0;
};

// The system's wall clock (rtdemo::nowMs()). Never null; shared.
std::shared_ptr<const WallClock> systemWallClock();

}  // namespace rtdemo
