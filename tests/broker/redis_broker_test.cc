// The Broker contract run against the Redis backend, plus what only Redis
// promises while it runs: several instances share one history, one cap and
// one id floor, agree on ids and deliver to each other, and refuse keys they
// did not write. Its other cases: redis_broker_flush_test.cc (a flushed
// Redis is a new epoch for every instance) and redis_broker_faults_test.cc
// (a restart, a crash or an absent Redis costs availability but loses
// nothing Redis kept). What they share is redis_broker_support.h.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/broker/broker_contract.h"
#include "tests/broker/stream_contract.h"
#include "tests/broker/redis_broker_support.h"
#include "tests/support/live_collector.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

class RedisHarness : public BrokerHarness {
 public:
  RedisHarness() : server_(sharedServer()), prefix_(uniquePrefix("contract")) {}
  BrokerConfig config() override { return redisConfig(server_->port(), prefix_); }
  std::unique_ptr<Broker> open(const BrokerConfig& config) override {
    if (!server_->running()) {
      ADD_FAILURE() << "no redis-server for the contract suite";
      return nullptr;
    }
    Status s;
    return openRedisBroker(config, &s);
  }
  // Redis stamps and ages messages by its own clock (TIME in the Lua
  // scripts), which no test can set: wait until it reads `ms`.
  bool reachWallClock(ManualClock*, int64_t ms) override {
    bool reached = waitUntil([&] { return serverTimeMs() >= ms; }, 10s);
    EXPECT_TRUE(reached) << "redis-server's clock did not reach " << ms;
    return reached;
  }

 private:
  // The server's TIME in milliseconds, as the scripts compute it; 0 on error.
  int64_t serverTimeMs() {
    std::istringstream reply(server_->command({"TIME"}));
    int64_t seconds = 0, micros = 0;
    if (!(reply >> seconds >> micros)) return 0;
    return seconds * 1000 + micros / 1000;
  }

  RedisServer* server_;
  const std::string prefix_;
};

INSTANTIATE_TEST_SUITE_P(
    Redis, BrokerContractTest,
    ::testing::Values(BrokerBackend{"redis", [] { return std::make_unique<RedisHarness>(); }}),
    [](const auto& info) { return info.param.name; });
// The stream contract too (tests/broker/stream_contract.cc). The stream
// script ages streams by BrokerConfig::clock when one is set
// (redis_streams.h), so the TTL and expiry cases run here as well.
INSTANTIATE_TEST_SUITE_P(
    Redis, StreamContractTest,
    ::testing::Values(BrokerBackend{"redis", [] { return std::make_unique<RedisHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Redis, StreamClockTest,
    ::testing::Values(BrokerBackend{"redis", [] { return std::make_unique<RedisHarness>(); }}),
    [](const auto& info) { return info.param.name; });

TEST(RedisBroker, TwoInstancesAgreeOnIdsAndDeliverToEachOther) {
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  std::string prefix = uniquePrefix("two");
  auto a = openOn(server->port(), prefix);
  auto b = openOn(server->port(), prefix);
  Collector onB;
  auto sub = b->subscribe("room", onB.callback());
  std::string id = mustPublish(a.get(), "room", "from a");
  ASSERT_TRUE(onB.waitFor(1));
  EXPECT_EQ(onB.messages()[0]->idText, id);
  HistoryRead h;
  ASSERT_TRUE(b->readAfter("room", "", 10, &h).ok());
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0]->idText, id);
  EXPECT_EQ(a->epoch(), b->epoch());
}

TEST(RedisBroker, CursorFromOneInstanceResumesOnAnother) {
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  std::string prefix = uniquePrefix("resume");
  auto a = openOn(server->port(), prefix);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(mustPublish(a.get(), "c", std::to_string(i)));
  a.reset();
  auto b = openOn(server->port(), prefix);
  HistoryRead h;
  ASSERT_TRUE(b->readAfter("c", ids[2], 100, &h).ok());
  EXPECT_FALSE(h.reset);
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages[0]->idText, ids[3]);
  EXPECT_EQ(h.messages[1]->idText, ids[4]);
}

BrokerConfig cappedConfig(int port, const std::string& prefix, size_t maxChannels) {
  BrokerConfig c = redisConfig(port, prefix);
  c.historyMaxChannels = maxChannels;
  return c;
}

TEST(RedisBroker, InstancesShareOneCap) {
  // The cap is Redis's, not an instance's: publishes through A and B count
  // against the same limit, and B sees what A's publish evicted.
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  std::string prefix = uniquePrefix("sharedcap");
  Status s;
  auto a = openRedisBroker(cappedConfig(server->port(), prefix, 2), &s);
  auto b = openRedisBroker(cappedConfig(server->port(), prefix, 2), &s);
  std::string x1 = mustPublish(a.get(), "x", "1");
  mustPublish(b.get(), "y", "1");
  mustPublish(a.get(), "z", "1");  // x goes
  HistoryStats onB;
  ASSERT_TRUE(b->historyStats(&onB).ok());
  EXPECT_EQ(onB.channels, 2u);
  EXPECT_EQ(onB.evictedChannels, 0u);  // A's publish evicted it
  HistoryStats onA;
  ASSERT_TRUE(a->historyStats(&onA).ok());
  EXPECT_EQ(onA.evictedChannels, 1u);
  EXPECT_EQ(onA.retainedBytes, onB.retainedBytes);
  HistoryRead h;
  ASSERT_TRUE(b->readAfter("x", MessageId::start(b->epoch()).toString(), 10, &h).ok());
  EXPECT_TRUE(h.reset);
  ASSERT_TRUE(b->readAfter("x", x1, 10, &h).ok());
  EXPECT_FALSE(h.reset);
  EXPECT_TRUE(h.messages.empty());
}

TEST(RedisBroker, AChannelCreatedWhileTheClockIsBehindTheFloorStartsAboveIt) {
  // The floor can be ahead of the clock (a clock stepped back, or a Redis
  // restored on another machine): a new stream must still start above it,
  // or an old cursor would look like one of its ids.
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  std::string prefix = uniquePrefix("floor");
  auto broker = openOn(server->port(), prefix);
  mustPublish(broker.get(), "warm", "x");  // the epoch exists
  const uint64_t aheadMs = static_cast<uint64_t>(nowMs()) + 3600 * 1000;
  std::string floor = std::to_string(aheadMs) + "-5";
  ASSERT_EQ(server->command({"SET", prefix + "floor", floor}), "OK");
  std::string epoch = broker->epoch();
  std::string last;
  ASSERT_TRUE(broker->lastId("c", &last).ok());
  EXPECT_EQ(last, (MessageId{epoch, aheadMs, 5}.toString()));
  std::string id = mustPublish(broker.get(), "c", "first");
  EXPECT_EQ(id, (MessageId{epoch, aheadMs, 6}.toString()));
  HistoryRead h;
  ASSERT_TRUE(broker->readAfter("c", last, 10, &h).ok());
  EXPECT_FALSE(h.reset) << h.resetReason;
  ASSERT_EQ(h.messages.size(), 1u);
  std::string older = MessageId{epoch, aheadMs - 1, 0}.toString();
  ASSERT_TRUE(broker->readAfter("c", older, 10, &h).ok());
  EXPECT_TRUE(h.reset);
  EXPECT_EQ(h.oldest, id);
}

TEST(RedisBroker, StreamsWrittenBeforeTheCapExistedKeepWorking) {
  // An older rtdemo wrote streams without cost lists; their entries are not
  // counted, and publishing to them must neither fail nor miscount.
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  std::string prefix = uniquePrefix("legacy");
  auto broker = openOn(server->port(), prefix);
  std::string epoch = broker->epoch();
  ASSERT_NE(epoch, "0");
  for (int i = 0; i < 3; ++i) {
    std::string r = server->command({"XADD", prefix + "ch:old", "*", "p", epoch, "e", "", "d", "legacy"});
    ASSERT_EQ(r.find("ERROR"), std::string::npos) << r;
  }
  std::string id = mustPublish(broker.get(), "old", "new");
  HistoryStats st;
  ASSERT_TRUE(broker->historyStats(&st).ok());
  EXPECT_EQ(st.retainedBytes, 3 + 64u);
  EXPECT_EQ(st.channels, 1u);
  HistoryRead h;
  ASSERT_TRUE(broker->readAfter("old", "", 10, &h).ok());
  EXPECT_EQ(h.messages.size(), 4u);
  EXPECT_EQ(h.messages.back()->idText, id);
}

TEST(RedisBroker, KeysRtdemoDidNotWriteAreRefusedAndChangeNothing) {
  // Each of rtdemo's keys holding what rtdemo would never write: publish and
  // read fail with Corruption (a 500 with the key's name) before writing
  // anything, so Redis is left exactly as it was.
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  struct Case {
    const char* key;  // under the prefix
    std::vector<std::string> write;  // the command that corrupts it, prefix added to argv[1]
  };
  const std::vector<Case> cases = {
      {"epoch", {"SET", "epoch", "NOT AN EPOCH!"}},
      {"ch:c", {"SET", "ch:c", "a string"}},
      {"channels", {"SET", "channels", "a string"}},
      {"cost:c", {"SET", "cost:c", "a string"}},
      {"bytes", {"SET", "bytes", "lots"}},
      {"floor", {"SET", "floor", "yesterday"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    std::string prefix = uniquePrefix("corrupt");
    auto broker = openOn(server->port(), prefix);
    mustPublish(broker.get(), "other", "x");  // bookkeeping exists
    std::vector<std::string> argv = c.write;
    argv[1] = prefix + argv[1];
    ASSERT_EQ(server->command(argv), "OK");
    auto snapshot = [&] {
      std::string keys = server->command({"KEYS", prefix + "*"});
      std::stringstream lines(keys);
      std::vector<std::string> sorted;
      for (std::string k; std::getline(lines, k);) {
        if (k.find(":wake:") != std::string::npos) continue;  // the reader's, not history
        sorted.push_back(k + " " + server->command({"TYPE", k}) + " " +
                         server->command({"DUMP", k}));
      }
      std::sort(sorted.begin(), sorted.end());
      return sorted;
    };
    auto before = snapshot();
    MessagePtr m;
    Status s = broker->publish("c", "", "data", &m);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.toString();
    EXPECT_NE(s.message().find(prefix + c.key), std::string::npos) << s.message();
    HistoryRead h;
    s = broker->readAfter("c", "", 10, &h);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.toString();
    EXPECT_EQ(snapshot(), before);
  }
}

TEST(RedisBroker, SubscribersNeverMissAMessagePublishedAfterSubscribe) {
  // Subscriptions come and go on a channel under constant publishing, so the
  // channel is dropped and re-added many times: each subscription must see,
  // in order and without a gap, every message whose publish began after its
  // subscribe() returned.
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  auto broker = openOn(server->port(), uniquePrefix("seam"));
  constexpr int kRounds = 20;
  std::atomic<int> returned{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<MessageId, int>> published;  // id, rounds returned before
  std::thread publisher([&] {
    while (!stop) {
      int g = returned.load();
      MessagePtr m;
      if (broker->publish("c", "", "x", &m).ok()) {
        std::lock_guard<std::mutex> lock(mu);
        published.emplace_back(m->id, g);
      }
    }
  });
  std::vector<std::unique_ptr<Collector>> collectors;
  for (int r = 1; r <= kRounds; ++r) {
    collectors.push_back(std::make_unique<Collector>());
    auto sub = broker->subscribe("c", collectors.back()->callback());
    returned = r;
    EXPECT_TRUE(collectors.back()->waitFor(3)) << "round " << r;
  }
  stop = true;
  publisher.join();
  for (int r = 1; r <= kRounds; ++r) {
    auto got = collectors[r - 1]->messages();
    ASSERT_FALSE(got.empty());
    expectStrictlyIncreasing(got);
    std::set<std::string> have;
    for (auto& m : got) have.insert(m->idText);
    const MessageId& lastGot = got.back()->id;
    for (auto& [id, g] : published) {
      if (g >= r && !(lastGot < id)) {
        EXPECT_EQ(have.count(id.toString()), 1u) << "round " << r << " missed " << id.toString();
      }
    }
  }
}

}  // namespace
}  // namespace rtdemo
