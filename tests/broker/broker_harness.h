// BrokerHarness: how the contract suite gets a fresh backend for each test.
//
// Each backend's test file supplies one harness per test: it owns whatever
// isolates that test (a temporary SQLite file, a Redis key prefix on the
// fixture's redis-server) and removes it afterwards. open() may be called
// more than once in a test to reopen the same storage.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "storage/broker.h"
#include "storage/clock.h"

namespace rtdemo {

// A wall clock that only moves when the test moves it (BrokerConfig::clock).
// Starts at the system time. Thread-safe.
class ManualClock : public WallClock {
 public:
  int64_t nowMs() const override { return now_.load(); }
  void set(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_{rtdemo::nowMs()};
};

class BrokerHarness {
 public:
  virtual ~BrokerHarness() = default;
  // A configuration that points at this test's isolated storage; the suite
  // changes retention fields before calling open().
  virtual BrokerConfig config() = 0;
  virtual std::unique_ptr<Broker> open(const BrokerConfig& config) = 0;

  // Brings the clock this backend ages history by to at least `ms` (since
  // the epoch), so that a case about age needs no sleep. Memory and SQLite
  // age by BrokerConfig::clock, so the default steps `clock`, the one the
  // suite gave them. A backend whose clock no test can set overrides this
  // and waits until that clock reads `ms` (Redis: the server's TIME).
  // False, with a test failure, if it never does.
  virtual bool reachWallClock(ManualClock* clock, int64_t ms) {
    if (clock->nowMs() < ms) clock->set(ms);
    return true;
  }
};

struct BrokerBackend {
  std::string name;  // "memory", "sqlite", "redis": the test-name suffix
  std::function<std::unique_ptr<BrokerHarness>()> makeHarness;
};

// Lets GoogleTest name the parameter instead of dumping its bytes.
inline void PrintTo(const BrokerBackend& backend, std::ostream* os) { *os << backend.name; }

}  // namespace rtdemo
