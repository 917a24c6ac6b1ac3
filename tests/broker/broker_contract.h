// The Broker contract suite, written once and run against every backend.
//
// Each backend's test file instantiates it:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, BrokerContractTest,
//       ::testing::Values(BrokerBackend{"sqlite", [] { return ...; }}),
//       [](const auto& info) { return info.param.name; });
// and adds the cases only it has (surviving a reopen, a Redis restart).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "tests/broker/broker_harness.h"

namespace rtdemo {

class BrokerContractTest : public ::testing::TestWithParam<BrokerBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Opens the backend with this test's isolated storage and the given
  // retention; the broker is kept in broker_.
  void open(size_t historySize = 1000, int64_t maxAgeSeconds = 0);
  // As open(), with the global cap (storage/history_cap.h) set.
  void openWithCap(uint64_t maxBytes, size_t maxChannels);
  // Opens with the harness's configuration (no age limit) changed by `tweak`.
  void openWith(const std::function<void(BrokerConfig*)>& tweak);
  HistoryStats stats();

  std::string publish(const std::string& channel, const std::string& data,
                      const std::string& event = "");
  HistoryRead read(const std::string& channel, const std::string& cursor,
                   size_t limit = 10000);

  std::unique_ptr<BrokerHarness> harness_;
  std::unique_ptr<Broker> broker_;
  // The wall clock the cases about age give the backend (BrokerConfig::clock);
  // only they set it, so every other case runs on the system clock.
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
};

// The cases that need to step the wall clock (BrokerConfig::clock): memory
// and SQLite stamp and age messages by it. Redis stamps them with the Redis
// server's clock, which a test cannot step, and its stream ids never go
// back (XADD takes the larger of the last id and the clock), so its age
// trimming is a prefix by construction and it does not instantiate these.
class BrokerClockTest : public BrokerContractTest {
 protected:
  // As open(), with clock_ as the backend's clock.
  void openWithClock(size_t historySize, int64_t maxAgeSeconds);
};

}  // namespace rtdemo
