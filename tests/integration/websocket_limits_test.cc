// What one WebSocket client may ask of the hub's workers: subscribes are
// rate-limited and in-flight requests capped per connection (429), and
// the workers' queue is bounded for everyone (503). Each refusal is an
// error message that leaves the connection usable, and another client's
// requests are answered meanwhile.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <set>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

std::string subscribeFrame(const std::string& channel, const std::string& ref) {
  return encodeClientFrame(0x81, R"({"type":"subscribe","channel":")" + channel +
                                     R"(","ref":")" + ref + R"("})");
}

TEST(WebSocketLimits, ASubscribeFloodIsRefusedWith429AndOthersAreStillServed) {
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.ws.subscribe-rate=5"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  WsTestClient flooder(port, "/ws");
  ASSERT_EQ(flooder.status(), 101);
  // 300 subscribe/unsubscribe pairs in one write: far past the bucket of 64.
  std::string burst;
  for (int i = 0; i < 300; ++i) {
    burst += subscribeFrame("f", "s" + std::to_string(i));
    burst += encodeClientFrame(0x81, R"({"type":"unsubscribe","channel":"f","ref":"u)" +
                                         std::to_string(i) + R"("})");
  }
  flooder.sendRaw(burst);
  WsTestClient other(port, "/ws");
  other.sendText(R"({"type":"subscribe","channel":"o","ref":"mine"})");
  auto mine = other.nextOfType("subscribed");
  ASSERT_TRUE(mine);
  EXPECT_EQ(jsonField(*mine, "ref"), "mine");

  // Every unsubscribe is answered in order ("unsubscribed", or an error when
  // its subscribe was refused); a subscribe that was unsubscribed before
  // its history was read gets no "subscribed" of its own.
  int refused = 0, subscribed = 0, unsubscribes = 0;
  while (unsubscribes < 300) {
    auto f = flooder.next(10s);
    ASSERT_TRUE(f) << unsubscribes << " of 300 unsubscribes answered";
    std::string type = jsonField(f->payload, "type");
    std::string ref = jsonField(f->payload, "ref");
    if (ref.empty()) continue;
    if (ref[0] == 'u') ++unsubscribes;
    if (ref[0] == 's' && type == "subscribed") ++subscribed;
    if (ref[0] == 's' && type == "error") {
      EXPECT_NE(f->payload.find("\"status\":429"), std::string::npos) << f->payload;
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_LE(subscribed, 64 + 5 * 10) << "the bucket and what it refills in a few seconds";
  // Still usable: a publish on it is acknowledged. The refused and
  // unsubscribed subscribes' history reads may still be finishing, and
  // until they do the in-flight cap can refuse it with 429 too: ask again,
  // for as long as they may take (a count of tries ran out in 0.3 s under
  // AddressSanitizer), not for a number of tries.
  std::string ack;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (int attempt = 0; ack.empty() && std::chrono::steady_clock::now() < deadline; ++attempt) {
    const std::string ref = "p" + std::to_string(attempt);
    flooder.sendText(R"({"type":"publish","channel":"o","data":"hi","ref":")" + ref + R"("})");
    for (;;) {
      auto f = flooder.next(10s);
      ASSERT_TRUE(f);
      if (jsonField(f->payload, "ref") != ref) continue;
      if (jsonField(f->payload, "type") == "ack") ack = f->payload;
      else EXPECT_NE(f->payload.find("\"status\":429"), std::string::npos) << f->payload;
      break;
    }
    if (ack.empty()) std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(ack.empty());
}

TEST(WebSocketLimits, AFullWorkerQueueAnswers503AndLosesNothingAcknowledged) {
  // SQLite with full sync: each commit takes long enough that a burst of
  // publishes outruns the two workers, and the queue of 2 overflows.
  char dir[] = "/tmp/rtdemo-wsq-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  ServerProcess server({"--backend", "sqlite", "-D", std::string("rtdemo.sqlite.path=") + dir + "/q.db",
                        "-D", "rtdemo.hub.worker-queue=2", "-D", "rtdemo.ws.in-flight=10000"});
  ASSERT_TRUE(server.ready()) << server.stderrText();
  const int port = server.port();
  WsTestClient ws(port, "/ws");
  ASSERT_EQ(ws.status(), 101);
  std::string burst;
  constexpr int kPublishes = 200;
  for (int i = 0; i < kPublishes; ++i)
    burst += encodeClientFrame(0x81, R"({"type":"publish","channel":"q","data":"m)" +
                                         std::to_string(i) + R"(","ref":")" +
                                         std::to_string(i) + R"("})");
  ws.sendRaw(burst);
  int acked = 0, busy = 0;
  for (int answers = 0; answers < kPublishes;) {
    auto f = ws.next(20s);
    ASSERT_TRUE(f) << answers << " of " << kPublishes << " publishes answered";
    std::string type = jsonField(f->payload, "type");
    if (type == "ack") ++acked, ++answers;
    if (type == "error") {
      EXPECT_NE(f->payload.find("\"status\":503"), std::string::npos) << f->payload;
      EXPECT_NE(f->payload.find("server busy"), std::string::npos) << f->payload;
      ++busy, ++answers;
    }
  }
  EXPECT_GT(busy, 0);
  EXPECT_GT(acked, 0);
  EXPECT_EQ(metric(port, "rtdemo_hub_busy_refusals_total"), busy);
  // Exactly the acknowledged ones were stored: count the history, a poll
  // answer (at most rtdemo.poll.max-batch, 100) at a time.
  EXPECT_EQ(metric(port, "rtdemo_messages_published_total{via=\"websocket\"}"), acked);
  size_t stored = 0;
  std::string since = "x";  // unknown: a reset, then everything from the start
  for (;;) {
    std::string body = httpGet(port, "/poll?channel=q&timeout=0&since=" + urlEncode(since)).body;
    size_t n = 0;
    for (size_t at = body.find("\"id\""); at != std::string::npos; at = body.find("\"id\"", at + 1))
      ++n;
    if (n == 0) break;
    stored += n;
    since = jsonField(body, "last_id");
  }
  EXPECT_EQ(stored, static_cast<size_t>(acked));
}

}  // namespace
}  // namespace rtdemo
