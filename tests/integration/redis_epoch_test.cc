// The hub against a Redis that loses its data or stops answering: live
// clients are told of a new epoch with a reset, and a hung Redis never
// stalls a hub loop.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <set>

#include "tests/support/http_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

std::string cursorNow(int port, const std::string& channel) {
  return jsonField(httpGet(port, "/poll?channel=" + channel + "&timeout=0").body, "last_id");
}

std::string epochOf(const std::string& id) { return id.substr(0, id.find('-')); }

TEST(RedisEpoch, LiveClientsGetAResetBeforeTheNewEpochsFirstMessage) {
  RedisServer redis("always");
  ASSERT_TRUE(redis.running());
  ServerProcess server(rtdemoOnRedis(redis, "ep:"));
  ASSERT_TRUE(server.ready()) << server.stderrText();
  const int port = server.port();
  const std::string start = cursorNow(port, "c");
  SseClient sse(port, "/events?channel=c", start);
  ASSERT_EQ(sse.status(), 200);
  WsTestClient ws(port, "/ws?channel=c&last_id=" + start);
  ASSERT_TRUE(ws.nextOfType("subscribed"));
  std::string before = publish(port, "c", "before the flush");
  ASSERT_EQ(sse.messages(1).at(0).id, before);
  ASSERT_EQ(jsonField(*ws.nextOfType("message"), "id"), before);
  // A poll parked after that message, on a connection of its own.
  int poll = connectLoopback(port);
  ASSERT_TRUE(sendGet(poll, "/poll?channel=c&timeout=20&since=" + before));
  ASSERT_TRUE(waitUntil([&] { return metric(port, "rtdemo_open_connections{transport=\"poll\"}") == 1; }));

  ASSERT_EQ(redis.command({"FLUSHALL"}), "OK");
  std::string after = publish(port, "c", "after the flush");
  ASSERT_NE(epochOf(after), epochOf(before));

  // SSE: the reset names the new epoch's start, then the message follows.
  auto reset = sse.next();
  while (reset && reset->type == "heartbeat") reset = sse.next();
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->type, "reset");
  EXPECT_EQ(reset->id, epochOf(after) + "-0");
  EXPECT_NE(reset->data.find(after), std::string::npos) << reset->data;
  auto next = sse.messages(1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, after);

  // WebSocket: the same, as messages.
  auto wsReset = ws.nextOfType("reset");
  ASSERT_TRUE(wsReset);
  EXPECT_EQ(jsonField(*wsReset, "oldest"), after);
  EXPECT_EQ(jsonField(*ws.nextOfType("message"), "id"), after);

  // The parked poll: answered with the message and "reset": true.
  std::string pending;
  HttpResponse answer = readResponseOn(poll, &pending);
  ::close(poll);
  ASSERT_EQ(answer.status, 200);
  EXPECT_NE(answer.body.find("\"reset\":true"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find(after), std::string::npos) << answer.body;
}

TEST(RedisEpoch, AHungRedisNeverStallsAHubLoop) {
  // One loop: if a WebSocket subscribe waited on Redis on the loop (as it
  // once did, for the feed's XREVRANGE), every heartbeat of that loop would
  // wait with it, rtdemo.redis.timeout.ms per subscribe.
  RedisServer redis("always");
  ASSERT_TRUE(redis.running());
  ServerProcess server(rtdemoOnRedis(redis, "ep:", {"-D", "rtdemo.hub.loops=1"}));
  ASSERT_TRUE(server.ready()) << server.stderrText();
  const int port = server.port();
  SseClient sse(port, "/events?channel=c", cursorNow(port, "c"));
  ASSERT_EQ(sse.status(), 200);
  // Live, not still reading its history (which a hung Redis would fail).
  std::string id = publish(port, "c", "live");
  ASSERT_EQ(sse.messages(1).at(0).id, id);
  WsTestClient ws(port, "/ws");
  ASSERT_EQ(ws.status(), 101);

  ASSERT_EQ(::kill(redis.pid(), SIGSTOP), 0);
  std::string burst;
  for (int i = 0; i < 10; ++i)
    burst += encodeClientFrame(0x81, R"({"type":"subscribe","channel":"new)" + std::to_string(i) +
                                         R"(","ref":")" + std::to_string(i) + R"("})");
  ws.sendRaw(burst);
  // Ten subscribes against a Redis that does not answer would hold a loop
  // that waits on it for ten seconds; this one keeps its one-second beat.
  auto t0 = std::chrono::steady_clock::now();
  int beats = 0;
  while (beats < 3) {
    auto e = sse.next(5s);
    ASSERT_TRUE(e) << "no heartbeat while Redis hung, after " << beats << "; closed "
                   << sse.closed() << "\n" << server.stderrText();
    if (e->type == "heartbeat") ++beats;
    // The WebSocket stays quiet meanwhile, and three silent heartbeats
    // would have the server drop it as dead: a ping says it is not.
    ws.sendRaw(encodeClientFrame(0x89, ""));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
  ASSERT_EQ(::kill(redis.pid(), SIGCONT), 0);
  // Each subscribe is answered, "subscribed" or a 503 that names Redis
  // (those whose read timed out), and once Redis answers again a subscribe
  // completes.
  std::set<std::string> answered;
  while (answered.size() < 10) {
    auto f = ws.next(15s);
    ASSERT_TRUE(f) << answered.size() << " of 10 subscribes answered";
    std::string type = jsonField(f->payload, "type");
    if (type == "subscribed" || type == "error") answered.insert(jsonField(f->payload, "ref"));
  }
  ws.sendText(R"({"type":"subscribe","channel":"later","ref":"L"})");
  auto later = ws.nextOfType("subscribed", 15s);
  ASSERT_TRUE(later);
  EXPECT_EQ(jsonField(*later, "ref"), "L");
}

}  // namespace
}  // namespace rtdemo
