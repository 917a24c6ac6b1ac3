// The Broker contract run against the SQLite backend, plus what only SQLite
// promises about its file: history and epoch survive a reopen, and a new file
// is a new epoch. Its other cases, by concept: sqlite_retention_test.cc
// (trimming and the cap on disk), sqlite_writer_test.cc (group commit, a
// locked or full disk), sqlite_startup_test.cc (start-up refusals). What
// they share is sqlite_broker_support.h.
//
// Every test gets its own temporary directory (removed afterwards).
#include "tests/broker/stream_contract.h"
#include "tests/broker/sqlite_broker_support.h"

namespace rtdemo {
namespace {

class SqliteHarness : public BrokerHarness {
 public:
  BrokerConfig config() override {
    BrokerConfig c;
    c.backend = "sqlite";
    c.sqlitePath = dir_.file("history.db");
    c.sqliteBusyTimeoutMs = 2000;
    return c;
  }
  std::unique_ptr<Broker> open(const BrokerConfig& config) override {
    Status s;
    auto broker = openSqliteBroker(config, &s);
    EXPECT_TRUE(s.ok()) << s.toString();
    return broker;
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(
    Sqlite, StreamContractTest,
    ::testing::Values(BrokerBackend{"sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Sqlite, StreamClockTest,
    ::testing::Values(BrokerBackend{"sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Sqlite, StreamForkTest,
    ::testing::Values(BrokerBackend{"sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Sqlite, StreamForkClockTest,
    ::testing::Values(BrokerBackend{"sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Sqlite, BrokerContractTest,
    ::testing::Values(BrokerBackend{"sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Sqlite, BrokerClockTest,
    ::testing::Values(BrokerBackend{"sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
    [](const auto& info) { return info.param.name; });

TEST_F(SqliteBrokerTest, ReopenKeepsEpochIdsAndHistory) {
  BrokerConfig c = config();
  std::string epoch;
  std::vector<std::string> ids;
  {
    auto b = open(c);
    epoch = b->epoch();
    for (int i = 0; i < 5; ++i) ids.push_back(publish(b.get(), "c", std::to_string(i)));
  }
  auto b = open(c);
  EXPECT_EQ(b->epoch(), epoch);
  HistoryRead h = read(b.get(), "c", ids[1]);
  EXPECT_FALSE(h.reset);
  ASSERT_EQ(h.messages.size(), 3u);
  EXPECT_EQ(h.messages[0]->idText, ids[2]);
  EXPECT_EQ(h.messages[2]->data, "4");
  std::string last;
  ASSERT_TRUE(b->lastId("c", &last).ok());
  EXPECT_EQ(last, ids[4]);
  std::string next = publish(b.get(), "c", "5");
  EXPECT_TRUE(*MessageId::parse(ids[4]) < *MessageId::parse(next));
  EXPECT_EQ(MessageId::parse(next)->major, 6u);
}

TEST_F(SqliteBrokerTest, SequenceSurvivesTrimmingAndReopen) {
  BrokerConfig c = config();
  c.historySize = 3;
  std::string first;
  {
    auto b = open(c);
    first = publish(b.get(), "c", "0");
    for (int i = 1; i < 10; ++i) publish(b.get(), "c", std::to_string(i));
  }
  auto b = open(c);
  EXPECT_EQ(MessageId::parse(publish(b.get(), "c", "10"))->major, 11u);
  HistoryRead h = read(b.get(), "c", first);
  EXPECT_TRUE(h.reset);
  ASSERT_EQ(h.messages.size(), 3u);
  EXPECT_EQ(h.oldest, h.messages[0]->idText);
  EXPECT_EQ(storedRows(c.sqlitePath), 3);
}

TEST_F(SqliteBrokerTest, NewFileIsANewEpochAndOldIdsReset) {
  auto a = open(config("a.db"));
  std::string id = publish(a.get(), "c", "from a");
  auto b = open(config("b.db"));
  publish(b.get(), "c", "from b");
  EXPECT_NE(a->epoch(), b->epoch());
  HistoryRead h = read(b.get(), "c", id);
  EXPECT_TRUE(h.reset);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0]->data, "from b");
}

}  // namespace
}  // namespace rtdemo
