// SQLite retention on disk: a lowered history size and expired rows are
// deleted from the file in the background, deletion by age stops at the first
// row still inside max-age, and the global cap's bookkeeping survives a
// reopen and a lowered cap (storage/history_cap.h).
#include <chrono>

#include "tests/broker/sqlite_broker_support.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

TEST_F(SqliteBrokerTest, LoweredHistorySizeIsTrimmedInTheBackground) {
  BrokerConfig c = config();
  c.historySize = 100000;
  {
    auto b = open(c);
    for (int i = 0; i < 1200; ++i) publish(b.get(), "c", std::to_string(i));
  }
  c.historySize = 10;
  auto b = open(c);
  // Reads apply the new limit at once; deleting the rows happens in steps.
  HistoryRead h = read(b.get(), "c", "");
  ASSERT_EQ(h.messages.size(), 10u);
  EXPECT_EQ(h.messages[0]->data, "1190");
  waitUntil([&] { return storedRows(c.sqlitePath) <= 10; }, std::chrono::seconds(20));
  EXPECT_EQ(storedRows(c.sqlitePath), 10);
}

TEST_F(SqliteBrokerTest, ExpiredRowsAreDeleted) {
  BrokerConfig c = config();
  c.historyMaxAgeSeconds = 1;
  auto b = open(c);
  publish(b.get(), "c", "old");
  waitUntil([&] { return storedRows(c.sqlitePath) == 0; });
  EXPECT_EQ(storedRows(c.sqlitePath), 0);
  std::string last;
  ASSERT_TRUE(b->lastId("c", &last).ok());
  EXPECT_EQ(MessageId::parse(last)->major, 1u);
}

TEST_F(SqliteBrokerTest, AgeDeletionAfterAClockStepBackStopsAtTheFirstRowInsideMaxAge) {
  // Deleting by age walks store order and stops at the first row still
  // inside max-age, even when rows after it carry older stamps (a clock
  // stepped back): deleting those would leave a hole in their channel.
  auto clock = std::make_shared<ManualClock>();
  const int64_t t = clock->nowMs();
  BrokerConfig c = config();
  c.historyMaxAgeSeconds = 100;
  c.clock = clock;
  auto b = open(c);
  clock->set(t - 7200 * 1000);
  publish(b.get(), "other", "expired");  // first in store order
  clock->set(t);
  std::string first = publish(b.get(), "c", "first");
  clock->set(t - 3600 * 1000);
  publish(b.get(), "c", "middle");
  clock->set(t + 10 * 1000);
  publish(b.get(), "c", "last");
  clock->set(t + 50 * 1000);  // "expired" and "middle" are past max-age
  ASSERT_TRUE(waitUntil([&] { return storedRows(c.sqlitePath) <= 3; }, std::chrono::seconds(20)));
  EXPECT_EQ(storedRows(c.sqlitePath), 3);
  HistoryRead h = read(b.get(), "c", first);
  EXPECT_FALSE(h.reset);
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages[0]->data, "middle");
}

TEST_F(SqliteBrokerTest, CapBookkeepingAndIdFloorSurviveAReopen) {
  // The cap's index is rebuilt from the file: the same bytes and channels,
  // the same least-recently-published order, and ids of an evicted channel
  // still continue above what it issued.
  BrokerConfig c = config();
  c.historyMaxChannels = 3;
  std::string b1;
  HistoryStats before;
  {
    auto b = open(c);
    publish(b.get(), "a", "1");
    b1 = publish(b.get(), "b", "1");
    publish(b.get(), "c", "1");
    publish(b.get(), "d", "1");  // evicts a
    // b is now the most recent, c the least; two bytes per character, so
    // that measuring TEXT in characters would show below.
    publish(b.get(), "b", "\xc3\xa9\xc3\xa9");
    ASSERT_TRUE(b->historyStats(&before).ok());
    EXPECT_EQ(before.evictedChannels, 1u);
  }
  // Rows written as TEXT (by earlier versions) are measured the same.
  {
    auto raw = rawSession(c.sqlitePath);
    raw << "UPDATE messages SET data = CAST(data AS TEXT)", now;
  }
  auto b = open(c);
  HistoryStats after;
  ASSERT_TRUE(b->historyStats(&after).ok());
  EXPECT_EQ(after.retainedBytes, before.retainedBytes);
  EXPECT_EQ(after.channels, 3u);
  EXPECT_EQ(after.evictedChannels, 0u);  // counters count this run
  std::string a2 = publish(b.get(), "a", "2");  // evicts c, the least recent
  EXPECT_TRUE(read(b.get(), "c", "").messages.empty());
  EXPECT_EQ(read(b.get(), "b", "").messages.size(), 2u);
  EXPECT_EQ(read(b.get(), "d", "").messages.size(), 1u);
  // a was evicted at seq 1 before the reopen: it continues above the floor.
  EXPECT_GT(MessageId::parse(a2)->major, 1u);
  EXPECT_TRUE(read(b.get(), "a", MessageId::start(b->epoch()).toString()).reset);
}

TEST_F(SqliteBrokerTest, CapLoweredAcrossARestartIsReachedInTheBackground) {
  BrokerConfig c = config();
  {
    auto b = open(c);
    for (int i = 0; i < 40; ++i) publish(b.get(), "ch" + std::to_string(i), "x");
  }
  c.historyMaxChannels = 5;
  auto b = open(c);
  // No publish needed: maintenance evicts in steps until under the cap.
  HistoryStats st;
  ASSERT_TRUE(waitUntil([&] { return b->historyStats(&st).ok() && st.channels <= 5; },
                        std::chrono::seconds(20)));
  EXPECT_EQ(st.channels, 5u);
  EXPECT_EQ(st.evictedChannels, 35u);
  // The five kept are the five published last.
  for (int i = 35; i < 40; ++i)
    EXPECT_EQ(read(b.get(), "ch" + std::to_string(i), "").messages.size(), 1u) << i;
  EXPECT_EQ(storedRows(c.sqlitePath), 5);
}

}  // namespace
}  // namespace rtdemo
