// The Broker contract run against the memory backend, plus what only memory
// promises: a restart is a new epoch.
#include "storage/memory_broker.h"
#include "tests/broker/stream_contract.h"

namespace rtdemo {
namespace {

class MemoryHarness : public BrokerHarness {
 public:
  BrokerConfig config() override {
    BrokerConfig c;
    c.backend = "memory";
    return c;
  }
  std::unique_ptr<Broker> open(const BrokerConfig& config) override {
    return newMemoryBroker(config);
  }
};

INSTANTIATE_TEST_SUITE_P(
    Memory, BrokerContractTest,
    ::testing::Values(BrokerBackend{"memory", [] { return std::make_unique<MemoryHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Memory, BrokerClockTest,
    ::testing::Values(BrokerBackend{"memory", [] { return std::make_unique<MemoryHarness>(); }}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Memory, StreamContractTest,
    ::testing::Values(BrokerBackend{"memory", [] { return std::make_unique<MemoryHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Memory, StreamClockTest,
    ::testing::Values(BrokerBackend{"memory", [] { return std::make_unique<MemoryHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Memory, StreamForkTest,
    ::testing::Values(BrokerBackend{"memory", [] { return std::make_unique<MemoryHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Memory, StreamForkClockTest,
    ::testing::Values(BrokerBackend{"memory", [] { return std::make_unique<MemoryHarness>(); }}),
    [](const auto& info) { return info.param.name; });

TEST(MemoryBroker, EveryStartIsANewEpoch) {
  BrokerConfig config;
  auto first = newMemoryBroker(config);
  MessagePtr m;
  ASSERT_TRUE(first->publish("c", "", "x", &m).ok());
  auto second = newMemoryBroker(config);
  EXPECT_NE(first->epoch(), second->epoch());
  HistoryRead h;
  ASSERT_TRUE(second->readAfter("c", m->idText, 100, &h).ok());
  EXPECT_TRUE(h.reset);
  EXPECT_TRUE(h.oldest.empty());
}

}  // namespace
}  // namespace rtdemo
