// The Broker contract run against the SQLite backend, plus what only SQLite
// promises: history and epoch survive a reopen, a new file is a new epoch,
// group commit, start-up refusals that leave a bad file untouched, and a
// full disk that refuses publishes without losing what was acknowledged.
//
// Every test gets its own temporary directory (removed afterwards). The
// read-only and full-disk cases mount a small tmpfs, so this file must run
// as root (it does under CI and in the dev container).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "Poco/Data/SQLite/Connector.h"
#include "Poco/Data/Session.h"
#include "storage/sqlite_broker.h"
#include "tests/broker/broker_contract.h"
#include "tests/support/server_process.h"

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

namespace rtdemo {
namespace {

// A fresh directory for one test; removed, with anything mounted on it
// unmounted first, when the test ends.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rtdemo-sqlite-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it)
      ::umount2(it->c_str(), MNT_DETACH);
    std::string cmd = "rm -rf '" + path_ + "'";
    if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "cannot remove " << path_;
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Mounts a tmpfs of `bytes` at a new subdirectory `name` and returns it.
  std::string mountTmpfs(const std::string& name, size_t bytes, bool readOnly) {
    std::string dir = file(name);
    EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0);
    std::string opts = "size=" + std::to_string(bytes);
    int rc = ::mount("tmpfs", dir.c_str(), "tmpfs", readOnly ? MS_RDONLY : 0,
                     opts.c_str());
    EXPECT_EQ(rc, 0) << "mount tmpfs on " << dir << ": " << std::strerror(errno)
                     << " (this test needs root)";
    if (rc == 0) mounts_.push_back(dir);
    return dir;
  }

 private:
  std::string path_;
  std::vector<std::string> mounts_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// A raw connection, as another program (the sqlite3 shell, say) would open.
// It waits for the broker's writer like another program would (the writer's
// maintenance step may hold the write lock for a moment at any time).
Poco::Data::Session rawSession(const std::string& path) {
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session s("SQLite", path, 0);
  s << "PRAGMA busy_timeout = 5000", now;
  return s;
}

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
    Sqlite, BrokerContractTest,
    ::testing::Values(BrokerBackend{"sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
    [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Sqlite, BrokerClockTest,
    ::testing::Values(BrokerBackend{"sqlite", [] { return std::make_unique<SqliteHarness>(); }}),
    [](const auto& info) { return info.param.name; });

class SqliteBrokerTest : public ::testing::Test {
 protected:
  BrokerConfig config(const std::string& name = "history.db") {
    BrokerConfig c;
    c.backend = "sqlite";
    c.sqlitePath = dir_.file(name);
    c.sqliteBusyTimeoutMs = 2000;
    return c;
  }
  std::unique_ptr<Broker> open(const BrokerConfig& c) {
    Status s;
    auto broker = openSqliteBroker(c, &s);
    EXPECT_TRUE(s.ok()) << s.toString();
    return broker;
  }
  // Opening must fail; returns the reason.
  std::string refuse(const BrokerConfig& c) {
    Status s;
    auto broker = openSqliteBroker(c, &s);
    EXPECT_EQ(broker, nullptr);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
    return s.message();
  }
  std::string publish(Broker* b, const std::string& channel, const std::string& data) {
    MessagePtr m;
    Status s = b->publish(channel, "", data, &m);
    EXPECT_TRUE(s.ok()) << s.toString();
    return s.ok() ? m->idText : "";
  }
  HistoryRead read(Broker* b, const std::string& channel, const std::string& cursor) {
    HistoryRead h;
    Status s = b->readAfter(channel, cursor, 100000, &h);
    EXPECT_TRUE(s.ok()) << s.toString();
    return h;
  }
  // Rows physically in the file (not what reads show, which retention filters).
  int64_t storedRows(const std::string& path) {
    auto s = rawSession(path);
    Poco::Int64 n = -1;
    s << "SELECT count(*) FROM messages", into(n), now;
    return n;
  }
  // A database that openSqliteBroker wrote and closed, with one message.
  std::string closedHistory() {
    BrokerConfig c = config();
    auto b = open(c);
    publish(b.get(), "c", "kept");
    return c.sqlitePath;
  }

  TempDir dir_;
};

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
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (storedRows(c.sqlitePath) > 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(storedRows(c.sqlitePath), 10);
}

TEST_F(SqliteBrokerTest, ExpiredRowsAreDeleted) {
  BrokerConfig c = config();
  c.historyMaxAgeSeconds = 1;
  auto b = open(c);
  publish(b.get(), "c", "old");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (storedRows(c.sqlitePath) > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
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

// Messages of one transaction share its timestamp, which is how this test
// sees group commit without timing anything: while the writer is held inside
// a live callback, publishers can only queue; once it is released, they must
// go out together in far fewer transactions than messages.
TEST_F(SqliteBrokerTest, ConcurrentPublishersShareTransactions) {
  auto b = open(config());
  std::mutex mu;
  std::condition_variable cv;
  bool holding = false, release = false;
  auto sub = b->subscribe("gate", [&](const MessagePtr&) {
    std::unique_lock<std::mutex> lock(mu);
    holding = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  std::thread gate([&] { publish(b.get(), "gate", "hold the writer"); });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return holding; }));
  }
  constexpr int kPublishers = 32;
  std::atomic<int> started{0};
  std::vector<std::thread> publishers;
  std::vector<MessagePtr> stored(kPublishers);
  for (int i = 0; i < kPublishers; ++i) {
    publishers.emplace_back([&, i] {
      started++;
      ASSERT_TRUE(b->publish("c", "", std::to_string(i), &stored[i]).ok());
    });
  }
  while (started.load() < kPublishers) std::this_thread::yield();
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  gate.join();
  for (auto& t : publishers) t.join();
  std::set<int64_t> stamps;
  std::set<uint64_t> seqs;
  for (auto& m : stored) {
    ASSERT_NE(m, nullptr);
    stamps.insert(m->tsMs);
    seqs.insert(m->id.major);
  }
  EXPECT_EQ(seqs.size(), size_t(kPublishers));
  EXPECT_EQ(*seqs.rbegin(), uint64_t(kPublishers));
  EXPECT_LT(stamps.size(), size_t(kPublishers) / 2);
}

// An acknowledgement waits for its own commit: while another process holds
// the write lock nothing can be acknowledged, and past the busy timeout the
// publish is refused with nothing stored.
TEST_F(SqliteBrokerTest, PublishFailsUnavailableWhileAnotherProcessHoldsTheLock) {
  BrokerConfig c = config();
  c.sqliteBusyTimeoutMs = 300;
  auto b = open(c);
  std::string first = publish(b.get(), "c", "before");
  auto other = rawSession(c.sqlitePath);
  // The broker's own housekeeping (trimming after a publish) may hold the
  // write lock for a moment: wait for it, as any second writer would.
  other << "PRAGMA busy_timeout = 5000", now;
  other << "BEGIN IMMEDIATE", now;
  MessagePtr m;
  Status s = b->publish("c", "", "refused", &m);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.toString();
  EXPECT_NE(s.message().find("locked"), std::string::npos) << s.message();
  EXPECT_FALSE(b->health().ok());
  other << "ROLLBACK", now;
  std::string after = publish(b.get(), "c", "after");
  EXPECT_EQ(MessageId::parse(after)->major, 2u);  // the refused one took no id
  EXPECT_TRUE(b->health().ok());
  HistoryRead h = read(b.get(), "c", "");
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages[0]->idText, first);
  EXPECT_EQ(h.messages[1]->data, "after");
}

TEST_F(SqliteBrokerTest, FullDiskRefusesPublishesAndKeepsWhatWasAcknowledged) {
  std::string dir = dir_.mountTmpfs("small", 256 * 1024, false);
  BrokerConfig c = config();
  c.sqlitePath = dir + "/history.db";
  c.historySize = 100000;
  auto b = open(c);
  ASSERT_NE(b, nullptr);
  std::vector<MessagePtr> got;
  std::mutex mu;
  auto sub = b->subscribe("c", [&](const MessagePtr& m) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(m);
  });
  std::vector<std::string> acked;
  std::string payload(8000, 'x');
  Status s;
  for (int i = 0; i < 200; ++i) {
    MessagePtr m;
    s = b->publish("c", "", payload + std::to_string(i), &m);
    if (!s.ok()) break;
    acked.push_back(m->idText);
  }
  ASSERT_EQ(s.code(), Status::Code::kUnavailable) << "the disk never filled up";
  EXPECT_NE(s.message().find("full"), std::string::npos) << s.message();
  EXPECT_FALSE(acked.empty());
  EXPECT_FALSE(b->health().ok());
  // Reads keep working, and hold exactly what was acknowledged.
  HistoryRead h = read(b.get(), "c", "");
  ASSERT_EQ(h.messages.size(), acked.size());
  for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(h.messages[i]->idText, acked[i]);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(got.size(), acked.size());  // nothing refused went out live
  }
  // Room again: publishing resumes with the next id.
  ASSERT_EQ(::mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT, "size=4194304"), 0);
  std::string next = publish(b.get(), "c", "after");
  EXPECT_EQ(MessageId::parse(next)->major, MessageId::parse(acked.back())->major + 1);
  sub.reset();
  b.reset();
  // And all of it is still there after a reopen.
  b = open(c);
  EXPECT_EQ(read(b.get(), "c", "").messages.size(), acked.size() + 1);
}

// ---- Start-up refusals: one clear line, and the file left as it was. ----

TEST_F(SqliteBrokerTest, MissingDirectoryIsRefused) {
  BrokerConfig c = config();
  c.sqlitePath = dir_.file("no/such/dir/history.db");
  std::string why = refuse(c);
  EXPECT_NE(why.find("does not exist"), std::string::npos) << why;
  EXPECT_NE(why.find(dir_.file("no/such/dir")), std::string::npos) << why;
}

TEST_F(SqliteBrokerTest, ReadOnlyDirectoryIsRefused) {
  std::string dir = dir_.mountTmpfs("ro", 65536, true);
  BrokerConfig c = config();
  c.sqlitePath = dir + "/history.db";
  std::string why = refuse(c);
  EXPECT_NE(why.find("not writable"), std::string::npos) << why;
  EXPECT_FALSE(exists(c.sqlitePath));
}

TEST_F(SqliteBrokerTest, FileThatIsNotADatabaseIsRefusedUntouched) {
  BrokerConfig c = config();
  std::string text = "these are my notes, not a database\n";
  for (int i = 0; i < 50; ++i) text += "line " + std::to_string(i) + "\n";
  spit(c.sqlitePath, text);
  std::string why = refuse(c);
  EXPECT_NE(why.find("not a SQLite database"), std::string::npos) << why;
  EXPECT_EQ(slurp(c.sqlitePath), text);
  EXPECT_FALSE(exists(c.sqlitePath + "-wal"));
}

TEST_F(SqliteBrokerTest, CorruptDatabaseIsRefusedUntouched) {
  BrokerConfig c = config();
  {
    auto b = open(c);
    for (int i = 0; i < 300; ++i) publish(b.get(), "c" + std::to_string(i % 7), std::string(300, 'a'));
  }
  std::string bytes = slurp(c.sqlitePath);
  ASSERT_GT(bytes.size(), 8 * 4096u);
  // Scribble over pages 2 to 5: b-tree pages of the history tables.
  for (size_t i = 4096; i < 5 * 4096; ++i) bytes[i] = static_cast<char>(i * 7);
  spit(c.sqlitePath, bytes);
  std::string why = refuse(c);
  EXPECT_NE(why.find("corrupt"), std::string::npos) << why;
  EXPECT_EQ(slurp(c.sqlitePath), bytes);
}

TEST_F(SqliteBrokerTest, ForeignSqliteDatabaseIsRefusedUntouched) {
  BrokerConfig c = config();
  {
    auto s = rawSession(c.sqlitePath);
    s << "CREATE TABLE invoices(id INTEGER PRIMARY KEY, amount INTEGER)", now;
    s << "INSERT INTO invoices(amount) VALUES(42)", now;
  }
  std::string before = slurp(c.sqlitePath);
  std::string why = refuse(c);
  EXPECT_NE(why.find("not an rtdemo history"), std::string::npos) << why;
  EXPECT_EQ(slurp(c.sqlitePath), before);
}

TEST_F(SqliteBrokerTest, NewerSchemaIsRefusedUntouched) {
  std::string path = closedHistory();
  {
    auto s = rawSession(path);
    s << "PRAGMA user_version = 2", now;
  }
  std::string before = slurp(path);
  std::string why = refuse(config());
  EXPECT_NE(why.find("schema version 2"), std::string::npos) << why;
  EXPECT_NE(why.find("newer"), std::string::npos) << why;
  EXPECT_EQ(slurp(path), before);
}

TEST_F(SqliteBrokerTest, UnknownSchemaIsRefusedUntouched) {
  std::string path = closedHistory();
  {
    auto s = rawSession(path);
    s << "PRAGMA user_version = 0", now;
  }
  std::string before = slurp(path);
  std::string why = refuse(config());
  EXPECT_NE(why.find("unknown rtdemo schema version 0"), std::string::npos) << why;
  EXPECT_EQ(slurp(path), before);
}

TEST_F(SqliteBrokerTest, FileHeldByAnotherBrokerIsRefusedAfterTheBusyTimeout) {
  BrokerConfig c = config();
  c.sqliteBusyTimeoutMs = 200;
  auto first = open(c);
  std::string id = publish(first.get(), "c", "mine");
  std::string why = refuse(c);
  EXPECT_NE(why.find("locked by another process"), std::string::npos) << why;
  EXPECT_NE(why.find("200 ms"), std::string::npos) << why;
  // The owner is unaffected.
  EXPECT_EQ(read(first.get(), "c", "").messages.size(), 1u);
  publish(first.get(), "c", "still mine");
}

TEST_F(SqliteBrokerTest, DatabaseLockedByAnotherWriterIsRefused) {
  std::string path = closedHistory();
  auto other = rawSession(path);
  other << "BEGIN IMMEDIATE", now;
  BrokerConfig c = config();
  c.sqliteBusyTimeoutMs = 200;
  std::string why = refuse(c);
  EXPECT_NE(why.find("locked by another process"), std::string::npos) << why;
  other << "ROLLBACK", now;
  auto b = open(c);
  EXPECT_EQ(read(b.get(), "c", "").messages.size(), 1u);
}

TEST_F(SqliteBrokerTest, EmptyFileBecomesANewHistory) {
  BrokerConfig c = config();
  spit(c.sqlitePath, "");
  auto b = open(c);
  publish(b.get(), "c", "x");
  EXPECT_EQ(read(b.get(), "c", "").messages.size(), 1u);
}

}  // namespace
}  // namespace rtdemo
