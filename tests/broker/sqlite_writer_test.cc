// The SQLite writer: publishers share transactions (group commit), an
// acknowledgement waits for its own commit, and a locked or full disk refuses
// publishes without losing or delivering anything it did not acknowledge.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "tests/broker/sqlite_broker_support.h"

namespace rtdemo {
namespace {

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

}  // namespace
}  // namespace rtdemo
