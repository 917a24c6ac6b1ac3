// HubClock: the time a hub loop reads, monotonic for its deadlines
// (heartbeats, poll timeouts, idle keep-alives, silent WebSockets, token
// expiry) and wall for what it tells clients (a heartbeat's ts, a token's
// exp).
//
// An interface so that tests can set the time (tests/unit/hub_*_test.cc)
// and see a heartbeat or a timeout at once instead of waiting for it. After
// moving a test clock, call Hub::wake() so the loops look at their
// deadlines again. The watchdog's view of a loop (HubLoop::lastTurnMs) stays
// on the real clock: it is about the thread, not about time in the hub.
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>

namespace rtdemo {

class HubClock {
 public:
  virtual ~HubClock() = default;
  virtual int64_t steadyMs() const = 0;  // never goes back
  virtual int64_t wallMs() const = 0;    // milliseconds since 1970
};

// storage/clock.h's steadyMs() and nowMs(). Never null; shared.
std::shared_ptr<const HubClock> systemHubClock();

}  // namespace rtdemo
