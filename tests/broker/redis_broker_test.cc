// The Broker contract run against the Redis backend, plus what only Redis
// promises: several instances share one history and agree on ids, a flushed
// Redis is a new epoch for all of them, and a Redis restart or an absent Redis
// costs availability but loses nothing Redis kept.
//
// The contract cases share one private redis-server per test process (each
// test with its own key prefix); the fault cases start their own so they can
// stop and restart it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "storage/redis_broker.h"
#include "tests/broker/broker_contract.h"
#include "tests/support/live_collector.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

RedisServer* sharedServer() {
  static RedisServer* server = nullptr;
  if (server == nullptr) {
    server = new RedisServer("everysec");
    // Stopped when the test program ends.
    class Stopper : public ::testing::Environment {
     public:
      void TearDown() override { delete server; server = nullptr; }
    };
    ::testing::AddGlobalTestEnvironment(new Stopper);
  }
  return server;
}

std::string uniquePrefix(const std::string& what) {
  return "t:" + what + ":" + newEpoch() + ":";
}

BrokerConfig redisConfig(int port, const std::string& prefix) {
  BrokerConfig c;
  c.backend = "redis";
  c.redisHost = "127.0.0.1";
  c.redisPort = port;
  c.redisPrefix = prefix;
  c.redisTimeoutMs = 2000;
  return c;
}

std::unique_ptr<Broker> openOn(int port, const std::string& prefix) {
  Status s;
  auto broker = openRedisBroker(redisConfig(port, prefix), &s);
  EXPECT_TRUE(s.ok()) << s.toString();
  return broker;
}

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

std::string mustPublish(Broker* b, const std::string& channel, const std::string& data) {
  MessagePtr m;
  Status s = b->publish(channel, "", data, &m);
  EXPECT_TRUE(s.ok()) << s.toString();
  return s.ok() ? m->idText : "";
}

// Publishes until Redis accepts (it may still be loading); returns the id.
std::string publishWhenBack(Broker* b, const std::string& channel, const std::string& data) {
  std::string id;
  waitUntil(
      [&] {
        MessagePtr m;
        if (!b->publish(channel, "", data, &m).ok()) return false;
        id = m->idText;
        return true;
      },
      20s);
  EXPECT_FALSE(id.empty()) << "redis did not come back";
  return id;
}

void expectStrictlyIncreasing(const std::vector<MessagePtr>& got) {
  for (size_t i = 1; i < got.size(); ++i)
    EXPECT_TRUE(got[i - 1]->id < got[i]->id) << got[i - 1]->idText << " then " << got[i]->idText;
}

// Two instances on a private redis-server, B subscribed to "c" and having
// received A's message `before`, and then Redis flushed.
struct FlushedPair {
  explicit FlushedPair(const std::string& what) : prefix(uniquePrefix(what)) {}
  // False (with a test failure) when a step failed.
  bool flush() {
    if (!server.running()) return false;
    a = openOn(server.port(), prefix);
    b = openOn(server.port(), prefix);
    sub = b->subscribe("c", onB.callback());
    before = mustPublish(a.get(), "c", "before");
    // B must have read it before it is flushed away.
    if (!onB.waitFor(1)) {
      ADD_FAILURE() << "B did not receive the message before the flush";
      return false;
    }
    oldEpoch = a->epoch();
    std::string reply = server.command({"FLUSHALL"});
    EXPECT_EQ(reply, "OK");
    return reply == "OK";
  }

  RedisServer server;
  const std::string prefix;
  std::unique_ptr<Broker> a, b;
  Collector onB;
  std::unique_ptr<Subscription> sub;  // destroyed before onB and b
  std::string before;
  std::string oldEpoch;
};

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

TEST(RedisBroker, FlushedRedisIsANewEpochForEveryInstance) {
  FlushedPair p("flush");
  ASSERT_TRUE(p.flush());
  Broker* a = p.a.get();
  Broker* b = p.b.get();
  Collector& onB = p.onB;
  const std::string& before = p.before;
  const std::string& oldEpoch = p.oldEpoch;
  std::string after = mustPublish(a, "c", "after");
  EXPECT_NE(a->epoch(), oldEpoch);
  EXPECT_EQ(MessageId::parse(after)->epoch, a->epoch());
  // B has not published since; its next read must still see the new epoch.
  HistoryRead h;
  ASSERT_TRUE(b->readAfter("c", before, 100, &h).ok());
  EXPECT_TRUE(h.reset);
  EXPECT_EQ(h.oldest, after);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(b->epoch(), a->epoch());
  // And B's live subscriber got the new message with its new-epoch id.
  ASSERT_TRUE(onB.waitFor(2));
  EXPECT_EQ(onB.messages()[1]->idText, after);
  // B publishing in the new epoch agrees with A.
  EXPECT_EQ(MessageId::parse(mustPublish(b, "c", "b"))->epoch, a->epoch());
}

TEST(RedisBroker, NewEpochWithIdsNotAboveTheOldCursorIsDeliveredFromItsStart) {
  // After a flush, a channel's new stream starts at the clock: a publish in
  // the same millisecond as the last one before the flush (or after a clock
  // step back) gets an id at or below B's cursor. B must still deliver the
  // new epoch from its first entry, not from the old cursor onwards.
  FlushedPair p("samems");
  ASSERT_TRUE(p.flush());
  RedisServer& server = p.server;
  const std::string& prefix = p.prefix;
  Collector& onB = p.onB;
  const std::string& before = p.before;
  // Another publisher in the same millisecond: the new epoch, and an entry
  // whose stream id equals the old cursor's.
  auto old = MessageId::parse(before);
  ASSERT_TRUE(old);
  std::string epoch = newEpoch();
  std::string sameMs = std::to_string(old->major) + "-" + std::to_string(old->minor);
  ASSERT_EQ(server.command({"SET", prefix + "epoch", epoch}), "OK");
  ASSERT_EQ(server.command({"XADD", prefix + "ch:c", sameMs, "p", epoch, "e", "", "d", "same"}),
            sameMs);
  std::string after = mustPublish(p.a.get(), "c", "after");
  ASSERT_TRUE(onB.waitFor(3));
  auto got = onB.messages();
  EXPECT_EQ(got[1]->idText, (MessageId{epoch, old->major, old->minor}.toString()));
  EXPECT_EQ(got[1]->data, "same");
  EXPECT_EQ(got[2]->idText, after);
  EXPECT_EQ(got.size(), 3u);
}

TEST(RedisBroker, SubscribeAfterAFlushIsWokenAndDelivered) {
  // B's wake stream goes with the flush; its next wake must still wake B's
  // reader, whatever ids the recreated stream starts at.
  FlushedPair p("flushwake");
  ASSERT_TRUE(p.flush());
  Broker* a = p.a.get();
  Broker* b = p.b.get();
  Collector second;
  auto sub2 = b->subscribe("d", second.callback());
  std::string id = mustPublish(a, "d", "y");
  ASSERT_TRUE(second.waitFor(1));
  EXPECT_EQ(second.messages()[0]->idText, id);
  EXPECT_EQ(MessageId::parse(id)->epoch, b->epoch());
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

TEST(RedisBroker, KeepsLiveDeliveryAcrossARedisRestart) {
  RedisServer server("always");
  ASSERT_TRUE(server.running());
  std::string prefix = uniquePrefix("restart");
  auto a = openOn(server.port(), prefix);
  auto b = openOn(server.port(), prefix);
  Collector live;
  auto sub = a->subscribe("c", live.callback());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(mustPublish(a.get(), "c", "before " + std::to_string(i)));
  ASSERT_TRUE(live.waitFor(5));

  ASSERT_TRUE(server.stop(SIGTERM));
  MessagePtr m;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(a->publish("c", "", "lost", &m).code(), Status::Code::kUnavailable);
  EXPECT_EQ(a->health().code(), Status::Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);

  ASSERT_TRUE(server.start());
  // B publishes as soon as Redis answers, probably before A's reader is back:
  // A must still deliver it.
  ids.push_back(publishWhenBack(b.get(), "c", "first after"));
  for (int i = 0; i < 5; ++i) ids.push_back(publishWhenBack(a.get(), "c", "after " + std::to_string(i)));
  ASSERT_TRUE(live.waitFor(ids.size(), 20s));
  auto got = live.messages();
  ASSERT_EQ(got.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(got[i]->idText, ids[i]);
  EXPECT_TRUE(a->health().ok());
  // AOF kept everything.
  HistoryRead h;
  ASSERT_TRUE(a->readAfter("c", "", 100, &h).ok());
  EXPECT_EQ(h.messages.size(), ids.size());
  EXPECT_FALSE(h.reset);
}

TEST(RedisBroker, SubscribeRightAfterARedisRestartMissesNothing) {
  // After a restart every pooled connection is stale: Redis closed it. The
  // first command on one must not fail because of that, or subscribe() has
  // no start id and the reader (still backing off) fetches one only when it
  // is back, after messages published meanwhile: they would never arrive.
  RedisServer server("always");
  ASSERT_TRUE(server.running());
  auto broker = openOn(server.port(), uniquePrefix("stale"));
  mustPublish(broker.get(), "c", "before");  // the pool's connection is in use
  ASSERT_TRUE(server.stop(SIGTERM));
  ASSERT_TRUE(server.start());
  Collector live;
  auto sub = broker->subscribe("c", live.callback());
  MessagePtr m;
  // No 503 either: a stale connection is not an unreachable Redis.
  ASSERT_TRUE(broker->publish("c", "", "first", &m).ok());
  ASSERT_TRUE(live.waitFor(1, 20s));
  EXPECT_EQ(live.messages()[0]->idText, m->idText);
}

TEST(RedisBroker, AcknowledgedMessagesSurviveACrashWithFsyncAlways) {
  RedisServer server("always");
  ASSERT_TRUE(server.running());
  std::string prefix = uniquePrefix("crash");
  auto a = openOn(server.port(), prefix);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(mustPublish(a.get(), "c", std::to_string(i)));
  std::string epoch = a->epoch();
  ASSERT_TRUE(server.stop(SIGKILL));
  ASSERT_TRUE(server.start());
  HistoryRead h;
  ASSERT_TRUE(waitUntil([&] { return a->readAfter("c", ids[9], 100, &h).ok(); }, 20s));
  EXPECT_FALSE(h.reset);
  ASSERT_EQ(h.messages.size(), 10u);
  EXPECT_EQ(h.messages.back()->idText, ids.back());
  EXPECT_EQ(a->epoch(), epoch);
}

TEST(RedisBroker, StartsWithoutRedisAndRecovers) {
  RedisServer server;
  ASSERT_TRUE(server.running());
  ASSERT_TRUE(server.stop(SIGTERM));
  Status s;
  auto broker = openRedisBroker(redisConfig(server.port(), uniquePrefix("absent")), &s);
  ASSERT_NE(broker, nullptr);
  EXPECT_TRUE(s.ok());
  MessagePtr m;
  EXPECT_EQ(broker->publish("c", "", "x", &m).code(), Status::Code::kUnavailable);
  EXPECT_EQ(broker->health().code(), Status::Code::kUnavailable);
  HistoryRead h;
  EXPECT_EQ(broker->readAfter("c", "", 10, &h).code(), Status::Code::kUnavailable);
  Collector live;
  auto sub = broker->subscribe("c", live.callback());

  ASSERT_TRUE(server.start());
  publishWhenBack(broker.get(), "c", "first");
  // A subscription made while Redis was away starts where the reader found
  // the stream on reconnecting (see redis_live_reader.h); from then on it
  // misses nothing.
  auto delivered = [&](const std::string& id) {
    for (const auto& m : live.messages()) {
      if (m->idText == id) return true;
    }
    return false;
  };
  ASSERT_TRUE(waitUntil(
      [&] {
        std::string probe = mustPublish(broker.get(), "c", "probe");
        return waitUntil([&] { return delivered(probe); }, 200ms);
      },
      20s));
  size_t had = live.size();
  std::string id = mustPublish(broker.get(), "c", "after");
  ASSERT_TRUE(live.waitFor(had + 1));
  EXPECT_EQ(live.messages().back()->idText, id);
  EXPECT_TRUE(broker->health().ok());
}

TEST(RedisBroker, ClosesItsConnectionsAndKeepsKeysUnderItsPrefix) {
  RedisServer server;
  ASSERT_TRUE(server.running());
  auto clients = [&] {
    std::string list = server.command({"CLIENT", "LIST"});
    return std::count(list.begin(), list.end(), '\n') + 1;
  };
  long baseline = clients();
  std::string prefix = uniquePrefix("tidy");
  {
    auto broker = openOn(server.port(), prefix);
    Collector live;
    auto sub = broker->subscribe("c", live.callback());
    mustPublish(broker.get(), "c", "x");
    ASSERT_TRUE(live.waitFor(1));
    EXPECT_GT(clients(), baseline);
    std::string keys = server.command({"KEYS", "*"});
    std::stringstream lines(keys);
    for (std::string key; std::getline(lines, key);) {
      EXPECT_EQ(key.rfind(prefix, 0), 0u) << key;
    }
    sub.reset();
  }
  EXPECT_TRUE(waitUntil([&] { return clients() == baseline; }, 5s))
      << server.command({"CLIENT", "LIST"});
  // The wake stream went with the instance; history and epoch stay.
  EXPECT_EQ(server.command({"EXISTS", prefix + "ch:c"}), "1");
  EXPECT_EQ(server.command({"EXISTS", prefix + "epoch"}), "1");
  EXPECT_EQ(server.command({"KEYS", prefix + "wake:*"}), "");
}

}  // namespace
}  // namespace rtdemo
