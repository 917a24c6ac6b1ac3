// The Redis backend's publishing path (storage/redis_publisher.h): a batch
// is one script that checks every key before it writes, so one element
// whose stream key holds something else stores nothing; and pipelined
// publishes that meet a Redis that lost its scripts and its epoch at once
// (SCRIPT FLUSH and FLUSHALL) are each stored once, acknowledged, and
// completed in id order.
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "tests/broker/redis_broker_support.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

TEST(RedisPublish, BatchWithAKeyOfAnotherTypeStoresNothing) {
  RedisServer* server = sharedServer();
  const std::string prefix = uniquePrefix("batch-corrupt");
  auto b = openOn(server->port(), prefix);
  mustPublish(b.get(), "good", "before");
  ASSERT_EQ(server->command({"SET", prefix + "ch:bad", "not a stream"}), "OK");
  std::vector<PublishItem> batch = {
      {"good", "", "1"}, {"other", "", "2"}, {"bad", "", "3"}, {"good", "", "4"}};
  std::vector<MessagePtr> out;
  Status s = b->publishBatch(batch, &out);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.toString();
  EXPECT_NE(s.message().find(prefix + "ch:bad"), std::string::npos) << s.toString();
  EXPECT_TRUE(out.empty());
  HistoryRead h;
  ASSERT_TRUE(b->readAfter("good", "", 100, &h).ok());
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(h.messages[0]->data, "before");
  EXPECT_EQ(server->command({"EXISTS", prefix + "ch:other"}), "0");
  EXPECT_EQ(server->command({"GET", prefix + "ch:bad"}), "not a stream");
  // Without the bad element the same batch goes through.
  batch.erase(batch.begin() + 2);
  ASSERT_TRUE(b->publishBatch(batch, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  expectStrictlyIncreasing({out[0], out[2]});
}

TEST(RedisPublish, PipelinedPublishesSurviveLostScriptsAndEpoch) {
  RedisServer server;
  ASSERT_TRUE(server.running());
  const std::string prefix = uniquePrefix("pipeline-flush");
  auto b = openOn(server.port(), prefix);
  std::string oldEpoch = MessageId::parse(mustPublish(b.get(), "c", "before"))->epoch;
  ASSERT_EQ(server.command({"SCRIPT", "FLUSH"}), "OK");
  ASSERT_EQ(server.command({"FLUSHALL"}), "OK");

  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  std::vector<std::string> failures;
  std::map<std::string, std::vector<MessageId>> order;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string ch = (i % 2) ? "c" : "d";
        b->publishAsync(ch, "", std::to_string(t) + ":" + std::to_string(i),
                        [&, ch](const Status& s, const MessagePtr& m) {
                          std::lock_guard<std::mutex> lock(mu);
                          ++calls;
                          if (s.ok()) order[ch].push_back(m->id);
                          else failures.push_back(s.toString());
                          cv.notify_all();
                        });
      }
    });
  }
  for (auto& th : threads) th.join();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return calls == kThreads * kEach; }));
  EXPECT_TRUE(failures.empty()) << failures.front();
  for (const char* ch : {"c", "d"}) {
    const std::vector<MessageId>& ids = order[ch];
    ASSERT_EQ(ids.size(), size_t(kThreads * kEach / 2)) << ch;
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_NE(ids[i].epoch, oldEpoch) << ch;
      if (i > 0) {
        EXPECT_TRUE(ids[i - 1] < ids[i]) << ch << " " << i;
      }
    }
    HistoryRead h;
    ASSERT_TRUE(b->readAfter(ch, "", 1000, &h).ok());
    ASSERT_EQ(h.messages.size(), ids.size()) << ch << ": each stored exactly once";
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(h.messages[i]->id.toString(), ids[i].toString());
  }
}

}  // namespace
}  // namespace rtdemo
