// Clocks: wall time for message timestamps and retention ages, monotonic
// time for deadlines. Storage and service share these.
#pragma once

#include <chrono>
#include <cstdint>

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

}  // namespace rtdemo
