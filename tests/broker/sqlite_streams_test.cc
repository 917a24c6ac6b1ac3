// What only SQLite promises about Durable Streams (storage/sqlite_streams.h):
// a stream's metadata and its producers' state are in the file, committed
// with the messages, so a producer's retry after a reopen (a restart, a
// crash before the client heard the answer) is a duplicate and never a second
// copy; and a history file from before streams (schema version 1) gains the
// stream tables and keeps everything it had.
#include "storage/sqlite_schema.h"
#include "tests/broker/sqlite_broker_support.h"

namespace rtdemo {
namespace {

StreamAppend producerAppend(const std::string& data, int64_t epoch, int64_t seq) {
  StreamAppend a;
  a.contentType = "text/plain";
  a.messages = {data};
  a.producer = ProducerClaim{"p", epoch, seq};
  return a;
}

StreamResult create(Broker* b, const std::string& channel, StreamConfig c = {}) {
  if (c.contentType == "application/octet-stream") c.contentType = "text/plain";
  StreamResult r;
  Status s = b->createStream(channel, c, StreamAppend(), &r);
  EXPECT_TRUE(s.ok()) << s.toString();
  return r;
}

StreamResult append(Broker* b, const std::string& channel, const StreamAppend& a) {
  StreamResult r;
  Status s = b->appendStream(channel, a, &r);
  EXPECT_TRUE(s.ok()) << s.toString();
  return r;
}

TEST_F(SqliteBrokerTest, AProducerRetryAfterAReopenIsADuplicate) {
  BrokerConfig c = config();
  std::string tail;
  {
    auto b = open(c);
    create(b.get(), "s");
    EXPECT_EQ(append(b.get(), "s", producerAppend("a", 0, 0)).outcome, StreamOutcome::kOk);
    tail = append(b.get(), "s", producerAppend("b", 0, 1)).tailId;
  }  // as if the answer to seq 1 was lost with the process
  auto b = open(c);
  StreamResult retry = append(b.get(), "s", producerAppend("b", 0, 1));
  EXPECT_EQ(retry.outcome, StreamOutcome::kDuplicate);
  EXPECT_EQ(retry.producerSeq, 1);
  EXPECT_EQ(retry.tailId, tail);
  EXPECT_EQ(append(b.get(), "s", producerAppend("c", 0, 2)).outcome, StreamOutcome::kOk);
  EXPECT_EQ(append(b.get(), "s", producerAppend("gap", 0, 9)).outcome,
            StreamOutcome::kSeqGap);
  EXPECT_EQ(storedRows(c.sqlitePath), 3);
}

TEST_F(SqliteBrokerTest, StreamMetadataSurvivesAReopen) {
  BrokerConfig c = config();
  StreamConfig sc;
  sc.contentType = "application/json";
  sc.expiresAtMs = nowMs() + 3600 * 1000;
  StreamInfo before;
  {
    auto b = open(c);
    create(b.get(), "s", sc);
    StreamAppend a;
    a.contentType = sc.contentType;
    a.messages = {"1", "2"};
    a.streamSeq = "0007";
    a.close = true;
    ASSERT_EQ(append(b.get(), "s", a).outcome, StreamOutcome::kOk);
    bool exists = false;
    ASSERT_TRUE(b->streamInfo("s", &before, &exists).ok());
    ASSERT_TRUE(exists);
  }
  auto b = open(c);
  StreamInfo after;
  bool exists = false;
  ASSERT_TRUE(b->streamInfo("s", &after, &exists).ok());
  ASSERT_TRUE(exists);
  EXPECT_EQ(after.config, sc);
  EXPECT_TRUE(after.closed);
  EXPECT_EQ(after.startId, before.startId);
  EXPECT_EQ(after.tailId, before.tailId);
  EXPECT_EQ(after.lastStreamSeq, "0007");
  EXPECT_EQ(create(b.get(), "s", sc).outcome, StreamOutcome::kExists);
}

TEST_F(SqliteBrokerTest, AVersionOneFileGainsStreamsAndKeepsItsHistory) {
  std::string path = closedHistory();
  {
    auto s = rawSession(path);
    s << "DROP TABLE streams", now;
    s << "DROP TABLE producers", now;
    s << "DROP TABLE stream_forks", now;
    s << "PRAGMA user_version = 1", now;
  }
  BrokerConfig c = config();
  auto b = open(c);
  HistoryRead h = read(b.get(), "c", "");
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0]->data, "kept");
  EXPECT_EQ(create(b.get(), "s").outcome, StreamOutcome::kOk);
  b.reset();
  auto s = rawSession(path);
  Poco::Int64 version = 0;
  s << "PRAGMA user_version", into(version), now;
  EXPECT_EQ(version, kSqliteSchemaVersion);
}

TEST_F(SqliteBrokerTest, AVersionTwoFileGainsForksAndKeepsItsStreams) {
  std::string path = closedHistory();
  {
    BrokerConfig c = config();
    auto b = open(c);
    EXPECT_EQ(create(b.get(), "s").outcome, StreamOutcome::kOk);
  }
  {
    auto s = rawSession(path);
    s << "DROP TABLE stream_forks", now;
    s << "ALTER TABLE streams DROP COLUMN deleted", now;
    s << "PRAGMA user_version = 2", now;
  }
  BrokerConfig c = config();
  auto b = open(c);
  StreamInfo i;
  bool exists = false;
  ASSERT_TRUE(b->streamInfo("s", &i, &exists).ok());
  EXPECT_TRUE(exists);
  EXPECT_FALSE(i.softDeleted);
  ForkSpec f{"s", i.tailId, false, 0};
  StreamResult r;
  ASSERT_TRUE(b->createFork("f", i.config, f, StreamAppend(), &r).ok());
  EXPECT_EQ(r.outcome, StreamOutcome::kOk);
  b.reset();
  auto s = rawSession(path);
  Poco::Int64 version = 0;
  s << "PRAGMA user_version", into(version), now;
  EXPECT_EQ(version, kSqliteSchemaVersion);
}

}  // namespace
}  // namespace rtdemo
