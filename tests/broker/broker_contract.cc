// The Broker contract cases (see broker_contract.h). Every rule of
// storage/broker.h that a client can observe has a case here or in
// broker_contract_live.cc (live delivery) and broker_contract_cap.cc (the
// global cap): reads, ids, cursors and epochs, retention by count and age.
#include "tests/broker/broker_contract.h"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace rtdemo {

void BrokerContractTest::SetUp() { harness_ = GetParam().makeHarness(); }

void BrokerContractTest::TearDown() {
  broker_.reset();
  harness_.reset();
}

void BrokerContractTest::open(size_t historySize, int64_t maxAgeSeconds) {
  openWith([&](BrokerConfig* c) {
    c->historySize = historySize;
    c->historyMaxAgeSeconds = maxAgeSeconds;
  });
}

void BrokerContractTest::openWithCap(uint64_t maxBytes, size_t maxChannels) {
  openWith([&](BrokerConfig* c) {
    c->historyMaxBytes = maxBytes;
    c->historyMaxChannels = maxChannels;
  });
}

void BrokerContractTest::openWith(const std::function<void(BrokerConfig*)>& tweak) {
  broker_.reset();
  BrokerConfig config = harness_->config();
  config.historyMaxAgeSeconds = 0;
  tweak(&config);
  broker_ = harness_->open(config);
  ASSERT_NE(broker_, nullptr);
}

HistoryStats BrokerContractTest::stats() {
  HistoryStats st;
  Status s = broker_->historyStats(&st);
  EXPECT_TRUE(s.ok()) << s.toString();
  return st;
}

void BrokerClockTest::openWithClock(size_t historySize, int64_t maxAgeSeconds) {
  openWith([&](BrokerConfig* c) {
    c->historySize = historySize;
    c->historyMaxAgeSeconds = maxAgeSeconds;
    c->clock = clock_;
  });
}

std::string BrokerContractTest::publish(const std::string& channel,
                                        const std::string& data,
                                        const std::string& event) {
  MessagePtr m;
  Status s = broker_->publish(channel, event, data, &m);
  EXPECT_TRUE(s.ok()) << s.toString();
  return s.ok() ? m->idText : "";
}

HistoryRead BrokerContractTest::read(const std::string& channel,
                                     const std::string& cursor, size_t limit) {
  HistoryRead h;
  Status s = broker_->readAfter(channel, cursor, limit, &h);
  EXPECT_TRUE(s.ok()) << s.toString();
  return h;
}

TEST_P(BrokerContractTest, PublishThenRead) {
  open();
  std::string id = publish("c1", "hello", "greet");
  HistoryRead h = read("c1", "");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_FALSE(h.reset);
  EXPECT_EQ(h.messages[0]->idText, id);
  EXPECT_EQ(h.messages[0]->data, "hello");
  EXPECT_EQ(h.messages[0]->event, "greet");
  EXPECT_EQ(h.messages[0]->channel, "c1");
  EXPECT_GT(h.messages[0]->tsMs, 1600000000000);
  EXPECT_EQ(h.messages[0]->id.epoch, broker_->epoch());
}

TEST_P(BrokerContractTest, CursorExcludesOlderMessages) {
  open();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(publish("c", "m" + std::to_string(i)));
  HistoryRead h = read("c", ids[1]);
  EXPECT_FALSE(h.reset);
  ASSERT_EQ(h.messages.size(), 3u);
  EXPECT_EQ(h.messages[0]->idText, ids[2]);
  EXPECT_EQ(h.messages[2]->idText, ids[4]);
  EXPECT_TRUE(read("c", ids[4]).messages.empty());
  EXPECT_FALSE(read("c", ids[4]).reset);
}

TEST_P(BrokerContractTest, LimitBoundsARead) {
  open();
  for (int i = 0; i < 10; ++i) publish("c", std::to_string(i));
  HistoryRead h = read("c", "", 4);
  ASSERT_EQ(h.messages.size(), 4u);
  EXPECT_EQ(h.messages[0]->data, "0");
  HistoryRead next = read("c", h.messages.back()->idText, 100);
  ASSERT_EQ(next.messages.size(), 6u);
  EXPECT_EQ(next.messages[0]->data, "4");
}

TEST_P(BrokerContractTest, LastIdFollowsPublishes) {
  open();
  std::string empty;
  ASSERT_TRUE(broker_->lastId("c", &empty).ok());
  EXPECT_EQ(empty, MessageId::start(broker_->epoch()).toString());
  EXPECT_TRUE(read("c", empty).messages.empty());
  EXPECT_FALSE(read("c", empty).reset);
  std::string id = publish("c", "x");
  std::string last;
  ASSERT_TRUE(broker_->lastId("c", &last).ok());
  EXPECT_EQ(last, id);
  HistoryRead h = read("c", empty);
  EXPECT_FALSE(h.reset);
  ASSERT_EQ(h.messages.size(), 1u);
}

TEST_P(BrokerContractTest, ChannelsAreIndependent) {
  open();
  publish("a", "for a");
  publish("b", "for b");
  HistoryRead a = read("a", "");
  ASSERT_EQ(a.messages.size(), 1u);
  EXPECT_EQ(a.messages[0]->data, "for a");
}

TEST_P(BrokerContractTest, UnknownChannelIsEmpty) {
  open();
  HistoryRead h = read("never-used", "");
  EXPECT_TRUE(h.messages.empty());
  EXPECT_FALSE(h.reset);
}

TEST_P(BrokerContractTest, IdsStrictlyIncreaseUnderConcurrentPublishers) {
  open(100000);
  constexpr int kThreads = 8;
  constexpr int kEach = 100;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> acked;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        MessagePtr m;
        Status s = broker_->publish("c", "", std::to_string(t) + ":" + std::to_string(i), &m);
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(m->idText);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(acked.size(), size_t(kThreads * kEach));
  HistoryRead h = read("c", "", 100000);
  ASSERT_EQ(h.messages.size(), size_t(kThreads * kEach));
  std::map<int, int> lastPerThread;
  for (size_t i = 0; i < h.messages.size(); ++i) {
    if (i > 0) {
      EXPECT_TRUE(h.messages[i - 1]->id < h.messages[i]->id) << i;
    }
    EXPECT_EQ(acked.count(h.messages[i]->idText), 1u);
    // Each publisher's own messages keep their order.
    const std::string& d = h.messages[i]->data;
    int t = std::stoi(d.substr(0, d.find(':')));
    int n = std::stoi(d.substr(d.find(':') + 1));
    if (lastPerThread.count(t)) {
      EXPECT_LT(lastPerThread[t], n);
    }
    lastPerThread[t] = n;
  }
}

TEST_P(BrokerContractTest, BinaryAndLargePayloadsRoundTrip) {
  open();
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  std::string large(1 << 20, 'x');
  large[12345] = '\n';
  std::string unicode = "h\xC3\xA9llo \xE2\x99\xA5 \xF0\x9F\x98\x80";
  publish("c", binary);
  publish("c", large);
  publish("c", unicode);
  publish("c", "");
  HistoryRead h = read("c", "");
  ASSERT_EQ(h.messages.size(), 4u);
  EXPECT_EQ(h.messages[0]->data, binary);
  EXPECT_EQ(h.messages[1]->data, large);
  EXPECT_EQ(h.messages[2]->data, unicode);
  EXPECT_EQ(h.messages[3]->data, "");
}

TEST_P(BrokerContractTest, OldEpochIsDetected) {
  open();
  publish("c", "a");
  std::string last = publish("c", "b");
  std::string foreign = "zz" + broker_->epoch().substr(2) + "-1";
  if (foreign.substr(0, foreign.find('-')) == broker_->epoch()) foreign = "otherepoch-1";
  HistoryRead h = read("c", foreign);
  EXPECT_TRUE(h.reset);
  EXPECT_FALSE(h.resetReason.empty());
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.oldest, h.messages[0]->idText);
  EXPECT_EQ(h.messages[1]->idText, last);
}

TEST_P(BrokerContractTest, GarbageCursorIsAReset) {
  open();
  publish("c", "a");
  for (const char* cursor : {"garbage", "-", "abc-", "abc-x", "ABC-1", "a-1-2-3"}) {
    HistoryRead h = read("c", cursor);
    EXPECT_TRUE(h.reset) << cursor;
    EXPECT_EQ(h.messages.size(), 1u) << cursor;
  }
}

TEST_P(BrokerContractTest, CursorNeverIssuedIsAReset) {
  open();
  std::string id = publish("c", "a");
  auto parsed = MessageId::parse(id);
  ASSERT_TRUE(parsed);
  MessageId future = *parsed;
  future.major += 1000000;
  HistoryRead h = read("c", future.toString());
  EXPECT_TRUE(h.reset);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.oldest, id);
}

TEST_P(BrokerContractTest, RetentionTrimsAndTrimmedCursorIsAReset) {
  open(5);
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(publish("c", std::to_string(i)));
  HistoryRead all = read("c", "");
  EXPECT_FALSE(all.reset);
  // Redis trims approximately (MAXLEN ~); every backend keeps at least the
  // configured count and drops the bulk of the rest.
  ASSERT_GE(all.messages.size(), 5u);
  EXPECT_LT(all.messages.size(), 40u);
  EXPECT_EQ(all.messages.back()->idText, ids.back());
  HistoryRead fromTrimmed = read("c", ids[0]);
  EXPECT_TRUE(fromTrimmed.reset);
  EXPECT_EQ(fromTrimmed.oldest, all.messages.front()->idText);
  EXPECT_EQ(fromTrimmed.messages.size(), all.messages.size());
  // A cursor inside the retained range needs no reset.
  HistoryRead recent = read("c", ids[38]);
  EXPECT_FALSE(recent.reset);
  ASSERT_EQ(recent.messages.size(), 1u);
}

TEST_P(BrokerContractTest, RetentionByAge) {
  openWith([&](BrokerConfig* c) {
    c->historySize = 1000;
    c->historyMaxAgeSeconds = 1;
    c->clock = clock_;
  });
  MessagePtr old;
  Status s = broker_->publish("c", "", "old", &old);
  ASSERT_TRUE(s.ok()) << s.toString();
  // The backend's clock moves past max-age (1 s) for the old message's
  // stamp, by a millisecond: stepped on memory and SQLite, waited for on Redis.
  ASSERT_TRUE(harness_->reachWallClock(clock_.get(), old->tsMs + 1000 + 1));
  std::string fresh = publish("c", "fresh");
  HistoryRead h = read("c", "");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0]->idText, fresh);
  EXPECT_TRUE(read("c", MessageId::start(broker_->epoch()).toString()).reset);
}

TEST_P(BrokerContractTest, HealthyWhenOpen) {
  open();
  EXPECT_TRUE(broker_->health().ok());
  EXPECT_EQ(broker_->name(), GetParam().name);
}

// Redis links this file but does not instantiate BrokerClockTest (see
// broker_contract.h).
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BrokerClockTest);

TEST_P(BrokerClockTest, AgeExpiryAfterAClockStepBackLeavesNoGap) {
  // The wall clock steps back an hour between two publishes, so the middle
  // message carries the oldest stamp and passes max-age first. A reader must
  // never see the messages around it without it: age expiry takes a prefix
  // in id order, so the middle one stays while an older one does.
  const int64_t t = clock_->nowMs();
  openWithClock(1000, 100);
  std::string first = publish("c", "first");
  clock_->set(t - 3600 * 1000);
  std::string middle = publish("c", "middle");
  clock_->set(t + 10 * 1000);
  std::string last = publish("c", "last");
  clock_->set(t + 50 * 1000);  // past max-age for the middle one's stamp only
  HistoryRead fromFirst = read("c", first);
  EXPECT_FALSE(fromFirst.reset);
  ASSERT_EQ(fromFirst.messages.size(), 2u);
  EXPECT_EQ(fromFirst.messages[0]->idText, middle);
  EXPECT_EQ(fromFirst.messages[1]->idText, last);
  HistoryRead all = read("c", "");
  ASSERT_EQ(all.messages.size(), 3u);
  EXPECT_EQ(all.messages[0]->idText, first);
  // Once the first one expires, the middle one goes with it.
  clock_->set(t + 100 * 1000 + 1);
  HistoryRead later = read("c", first);
  EXPECT_TRUE(later.reset);
  ASSERT_EQ(later.messages.size(), 1u);
  EXPECT_EQ(later.messages[0]->idText, last);
  EXPECT_EQ(later.oldest, last);
  clock_->set(t + 110 * 1000 + 1);
  EXPECT_TRUE(read("c", "").messages.empty());
  EXPECT_TRUE(read("c", middle).reset);
}

TEST_P(BrokerClockTest, AgeExpiryFollowsTheClockForward) {
  // The plain case with the stepped clock: nothing expires early, and what
  // is past max-age is gone with a reset for a cursor before it.
  const int64_t t = clock_->nowMs();
  openWithClock(1000, 10);
  std::string old = publish("c", "old");
  clock_->set(t + 5000);
  std::string fresh = publish("c", "fresh");
  clock_->set(t + 10000);  // exactly max-age: still retained
  EXPECT_EQ(read("c", "").messages.size(), 2u);
  clock_->set(t + 10001);
  HistoryRead h = read("c", MessageId::start(broker_->epoch()).toString());
  EXPECT_TRUE(h.reset);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0]->idText, fresh);
  HistoryRead fromOld = read("c", old);
  EXPECT_FALSE(fromOld.reset);
  ASSERT_EQ(fromOld.messages.size(), 1u);
}

}  // namespace rtdemo
