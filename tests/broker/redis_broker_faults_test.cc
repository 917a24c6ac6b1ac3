// Redis going away under the backend: stopped and restarted, SIGKILLed
// with appendfsync always, absent at start. Publishes fail Unavailable while
// it is gone; nothing Redis kept is lost, live delivery resumes without a
// gap, and a closed broker leaves no connection and no key outside its prefix.
#include <signal.h>

#include <algorithm>
#include <sstream>

#include "tests/broker/redis_broker_support.h"
#include "tests/support/live_collector.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

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
