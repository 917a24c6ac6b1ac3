// Several real rtdemo instances sharing one Redis: a message sent to one
// reaches SSE and long-poll clients of another, a client resumes on another
// instance after its own was killed, and a flushed Redis gives an explicit
// reset.
#include <gtest/gtest.h>
#include <signal.h>

#include <future>

#include "tests/support/http_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

class RedisInstancesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.running());
    a_ = std::make_unique<ServerProcess>(rtdemoOnRedis(redis_, "it:", {"-D", "rtdemo.poll.timeout.seconds=5"}));
    b_ = std::make_unique<ServerProcess>(rtdemoOnRedis(redis_, "it:", {"-D", "rtdemo.poll.timeout.seconds=5"}));
    ASSERT_TRUE(a_->ready()) << a_->stderrText();
    ASSERT_TRUE(b_->ready()) << b_->stderrText();
  }
  RedisServer redis_;
  std::unique_ptr<ServerProcess> a_, b_;
};

TEST_F(RedisInstancesTest, SendToOneInstanceReachesSseAndLongPollOnAnother) {
  HttpResponse first = httpGet(b_->port(), "/poll?channel=room&timeout=0");
  ASSERT_EQ(first.status, 200);
  std::string cursor = jsonField(first.body, "last_id");
  ASSERT_FALSE(cursor.empty());
  // With a cursor, not live-only: a live-only stream may miss what is sent
  // while the server is still subscribing it.
  SseClient sse(b_->port(), "/events?channel=room", cursor);
  ASSERT_EQ(sse.status(), 200);
  auto held = std::async(std::launch::async, [&] {
    return httpGet(b_->port(), "/poll?channel=room&since=" + urlEncode(cursor));
  });
  // Only a parked poll proves live delivery across instances.
  ASSERT_TRUE(waitUntil([&] { return openConnections(b_->port(), "poll") == 1; }));

  std::string id = publish(a_->port(), "room", "hello\nfrom A", "chat");
  ASSERT_FALSE(id.empty());
  auto got = sse.messages(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].type, "chat");
  EXPECT_EQ(got[0].data, "hello\nfrom A");
  HttpResponse r = held.get();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(jsonField(r.body, "last_id"), id);
  EXPECT_NE(r.body.find("\"event\":\"chat\""), std::string::npos) << r.body;
}

TEST_F(RedisInstancesTest, ClientOfAKilledInstanceResumesOnAnotherWithExactlyTheMissedMessages) {
  std::string lastSeen;
  {
    std::string cursor = jsonField(httpGet(a_->port(), "/poll?channel=c&timeout=0").body, "last_id");
    SseClient onA(a_->port(), "/events?channel=c", cursor);
    ASSERT_EQ(onA.status(), 200);
    for (int i = 0; i < 3; ++i) publish(a_->port(), "c", "seen " + std::to_string(i));
    auto got = onA.messages(3);
    ASSERT_EQ(got.size(), 3u);
    lastSeen = got.back().id;
    EXPECT_EQ(a_->stop(SIGKILL), 128 + SIGKILL);
  }
  std::vector<std::string> missed;
  for (int i = 0; i < 4; ++i) missed.push_back(publish(b_->port(), "c", "missed " + std::to_string(i)));

  SseClient onB(b_->port(), "/events?channel=c", lastSeen);
  ASSERT_EQ(onB.status(), 200);
  auto got = onB.messages(4);
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i].id, missed[i]);
    EXPECT_EQ(got[i].type, "message") << "no reset expected";
  }
  std::string live = publish(b_->port(), "c", "live");
  auto next = onB.messages(1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, live);
  // Nothing else, no duplicate: the next message is the one sent now.
  std::string last = publish(b_->port(), "c", "last");
  auto after = onB.messages(1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, last);
}

TEST_F(RedisInstancesTest, FlushedRedisGivesResumingClientsAnExplicitReset) {
  std::string old = publish(a_->port(), "c", "before flush");
  ASSERT_EQ(redis_.command({"FLUSHALL"}), "OK");
  std::string fresh = publish(a_->port(), "c", "after flush");
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh.substr(0, fresh.find('-')), old.substr(0, old.find('-')));
  // B never published since the flush; it must still notice.
  SseClient onB(b_->port(), "/events?channel=c", old);
  ASSERT_EQ(onB.status(), 200);
  auto got = onB.messages(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, "reset");
  EXPECT_NE(got[0].data.find(fresh), std::string::npos) << got[0].data;
  EXPECT_EQ(got[1].id, fresh);
}

}  // namespace
}  // namespace rtdemo
