// The real rtdemo against a Redis that goes away: restarted during a stream,
// and absent when rtdemo starts. Subscribers stay connected, /send answers
// 503 meanwhile, and delivery resumes by itself with nothing lost that Redis
// kept (AOF with appendfsync always here).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "tests/support/http_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// rtdemo's own threads: each is named "rtdemo-<part>" (storage/thread_name.h),
// while POCO's request pool, which grows and shrinks with load, keeps the
// process name. A reconnect that leaked a thread would show here.
int ownThreadCount(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(dir + "/" + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    n += name.rfind("rtdemo-", 0) == 0;
  }
  ::closedir(d);
  return n;
}

int sendStatus(int port, const std::string& data, std::string* id = nullptr) {
  HttpResponse r = httpRequest(port, "POST", "/send", "channel=c&data=" + urlEncode(data),
                               "application/x-www-form-urlencoded");
  if (id) *id = jsonField(r.body, "id");
  return r.status;
}

// The channel's current last id: an SSE stream opened with it as its cursor
// gets everything published afterwards, whereas a live-only stream may miss
// what is published while the server is still subscribing it.
std::string cursorNow(int port) {
  return jsonField(httpGet(port, "/poll?channel=c&timeout=0").body, "last_id");
}

// The connections rtdemo holds to Redis (CLIENT LIST minus our own).
int redisClients(RedisServer& redis) {
  std::string list = redis.command({"CLIENT", "LIST"});
  return static_cast<int>(std::count(list.begin(), list.end(), '\n'));
}

TEST(RedisRestart, StreamSurvivesARedisRestartWithNothingLost) {
  RedisServer redis("always");
  ASSERT_TRUE(redis.running());
  ServerProcess server(rtdemoOnRedis(redis, "rt:"));
  ASSERT_TRUE(server.ready()) << server.stderrText();
  SseClient sse(server.port(), "/events?channel=c", cursorNow(server.port()));
  ASSERT_EQ(sse.status(), 200);
  std::vector<std::string> sent;
  for (int i = 0; i < 3; ++i) sent.push_back(publish(server.port(), "c", "before " + std::to_string(i)));
  std::vector<SseEvent> got = sse.messages(3);
  ASSERT_EQ(got.size(), 3u);
  int threadsBefore = ownThreadCount(server.pid());
  ASSERT_GE(threadsBefore, 5);  // hub loops, workers, feed, live reader, guard

  ASSERT_TRUE(redis.stop(SIGTERM));
  EXPECT_TRUE(waitUntil([&] { return sendStatus(server.port(), "while away") == 503; }, 10s));
  EXPECT_EQ(httpGet(server.port(), "/healthz").status, 503);
  // The stream stays open and keeps its heartbeats while Redis is away.
  auto beat = sse.next(5s);
  ASSERT_TRUE(beat.has_value());
  EXPECT_EQ(beat->type, "heartbeat");
  EXPECT_FALSE(sse.closed());

  ASSERT_TRUE(redis.start());
  std::string id;
  ASSERT_TRUE(waitUntil([&] { return sendStatus(server.port(), "first after", &id) == 201; }, 20s));
  sent.push_back(id);
  for (int i = 0; i < 3; ++i) sent.push_back(publish(server.port(), "c", "after " + std::to_string(i)));
  std::vector<SseEvent> after = sse.messages(4, 20s);
  got.insert(got.end(), after.begin(), after.end());
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i].id, sent[i]) << i;
  // No duplicate: the next message is the one sent now.
  std::string last = publish(server.port(), "c", "last");
  sent.push_back(last);
  auto next = sse.messages(1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, last);
  EXPECT_EQ(httpGet(server.port(), "/healthz").status, 200);

  // No thread or connection was leaked by the reconnects.
  EXPECT_EQ(ownThreadCount(server.pid()), threadsBefore);
  EXPECT_LE(redisClients(redis), 1 + 8);  // the live reader and the pool
  // A poll from before the restart resumes with what Redis kept.
  HttpResponse poll = httpGet(server.port(), "/poll?channel=c&since=" + urlEncode(sent[1]));
  ASSERT_EQ(poll.status, 200);
  EXPECT_EQ(jsonField(poll.body, "last_id"), sent.back());
  EXPECT_EQ(poll.body.find("\"reset\""), std::string::npos) << poll.body;
}

TEST(RedisRestart, StartsWithoutRedisAnswers503AndRecovers) {
  RedisServer redis;
  ASSERT_TRUE(redis.running());
  ASSERT_TRUE(redis.stop(SIGTERM));
  ServerProcess server(rtdemoOnRedis(redis, "rt:"));
  ASSERT_TRUE(server.ready()) << server.stderrText();
  EXPECT_NE(server.stderrText().find("unreachable"), std::string::npos) << server.stderrText();

  HttpResponse send = httpRequest(server.port(), "POST", "/send", "channel=c&data=x",
                                  "application/x-www-form-urlencoded");
  EXPECT_EQ(send.status, 503);
  EXPECT_FALSE(jsonField(send.body, "error").empty()) << send.body;
  EXPECT_EQ(httpGet(server.port(), "/healthz").status, 503);

  ASSERT_TRUE(redis.start());
  EXPECT_TRUE(waitUntil([&] { return httpGet(server.port(), "/healthz").status == 200; }, 20s));
  SseClient sse(server.port(), "/events?channel=c", cursorNow(server.port()));
  ASSERT_EQ(sse.status(), 200);
  std::string id;
  ASSERT_EQ(sendStatus(server.port(), "now", &id), 201);
  auto got = sse.messages(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
}

}  // namespace
}  // namespace rtdemo
