// The WebSocket transport end to end: the real build/rtdemo, a raw-socket
// client that can also misbehave, and the same resume guarantees as SSE.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> wsArgs(const std::string& backend = "memory",
                                std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--backend", backend, "-D", "rtdemo.heartbeat.seconds=1",
                                   "-D", "rtdemo.send.max-bytes=1000",
                                   "-D", "rtdemo.send.batch.max-bytes=2000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(wsArgs());
    ASSERT_TRUE(server_->ready());
    port_ = server_->port();
  }
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(WebSocketTest, SubscribeByQueryAndReceivePublishes) {
  WsTestClient ws(port_, "/ws?channel=a");
  ASSERT_EQ(ws.status(), 101) << ws.responseHead();
  ASSERT_TRUE(ws.nextOfType("subscribed"));
  std::string id = publish(port_, "a", "over http\nline 2", "chat");
  auto msg = ws.nextOfType("message");
  ASSERT_TRUE(msg);
  EXPECT_EQ(jsonField(*msg, "id"), id);
  EXPECT_EQ(jsonField(*msg, "channel"), "a");
  EXPECT_EQ(jsonField(*msg, "event"), "chat");
  EXPECT_NE(msg->find("\"data\":\"over http\\nline 2\""), std::string::npos) << *msg;
}

TEST_F(WebSocketTest, PublishIsAcknowledgedAndReachesEveryTransport) {
  WsTestClient ws(port_, "/ws");
  ASSERT_EQ(ws.status(), 101);
  ws.sendText(R"({"type":"subscribe","channel":"p","ref":"s1"})");
  auto subscribed = ws.nextOfType("subscribed");
  ASSERT_TRUE(subscribed);
  EXPECT_EQ(jsonField(*subscribed, "ref"), "s1");
  SseClient sse(port_, "/events?channel=p");
  ws.sendText(R"({"type":"publish","channel":"p","data":"from ws","ref":"p1"})");
  // The live message and the ack may come in either order: the message is
  // fanned out as part of storing it, the ack once storing returned.
  std::string ack, echoed;
  while (ack.empty() || echoed.empty()) {
    auto f = ws.next();
    ASSERT_TRUE(f) << "ack: " << ack << " message: " << echoed;
    if (f->payload.rfind("{\"type\":\"ack\"", 0) == 0) ack = f->payload;
    if (f->payload.rfind("{\"type\":\"message\"", 0) == 0) echoed = f->payload;
  }
  EXPECT_EQ(jsonField(ack, "ref"), "p1");
  std::string id = jsonField(ack, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(jsonField(echoed, "id"), id);
  auto viaSse = sse.messages(1);
  ASSERT_EQ(viaSse.size(), 1u);
  EXPECT_EQ(viaSse[0].id, id);
  EXPECT_EQ(viaSse[0].data, "from ws");
}

TEST_F(WebSocketTest, SeveralChannelsOnOneSocket) {
  WsTestClient ws(port_, "/ws");
  ws.sendText(R"({"type":"subscribe","channel":"x"})");
  ws.sendText(R"({"type":"subscribe","channel":"y"})");
  ASSERT_TRUE(ws.nextOfType("subscribed"));
  ASSERT_TRUE(ws.nextOfType("subscribed"));
  std::string ix = publish(port_, "x", "to x");
  std::string iy = publish(port_, "y", "to y");
  auto m1 = ws.nextOfType("message");
  auto m2 = ws.nextOfType("message");
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ(jsonField(*m1, "id"), ix);
  EXPECT_EQ(jsonField(*m1, "channel"), "x");
  EXPECT_EQ(jsonField(*m2, "id"), iy);
  EXPECT_EQ(jsonField(*m2, "channel"), "y");
  ws.sendText(R"({"type":"unsubscribe","channel":"x"})");
  ASSERT_TRUE(ws.nextOfType("unsubscribed"));
  publish(port_, "x", "not for us");
  std::string later = publish(port_, "y", "still for us");
  auto m3 = ws.nextOfType("message");
  ASSERT_TRUE(m3);
  EXPECT_EQ(jsonField(*m3, "id"), later);
}

TEST_F(WebSocketTest, ResumeAfterLastIdWithNoGapAndNoDuplicate) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(publish(port_, "r", std::to_string(i)));
  WsTestClient ws(port_, "/ws");
  ws.sendText(R"({"type":"subscribe","channel":"r","last_id":")" + ids[1] + "\"}");
  for (int i = 2; i < 5; ++i) {
    auto m = ws.nextOfType("message");
    ASSERT_TRUE(m);
    EXPECT_EQ(jsonField(*m, "id"), ids[i]);
  }
  std::string live = publish(port_, "r", "live");
  auto m = ws.nextOfType("message");
  ASSERT_TRUE(m);
  EXPECT_EQ(jsonField(*m, "id"), live);
}

TEST_F(WebSocketTest, HeartbeatsAndPings) {
  WsTestClient ws(port_, "/ws");
  ASSERT_TRUE(ws.nextOfType("heartbeat", 5s));
  bool sawPing = false;
  for (int i = 0; i < 10 && !sawPing; ++i) {
    auto f = ws.next(3s);
    ASSERT_TRUE(f);
    sawPing = f->opcode == 0x9;
  }
  EXPECT_TRUE(sawPing);
}

TEST_F(WebSocketTest, BadMessagesGetErrorsAndTheConnectionStaysUsable) {
  WsTestClient ws(port_, "/ws");
  for (const char* bad : {"not json", R"({"type":"dance","channel":"a"})", R"({"type":"subscribe"})",
                          R"({"type":"subscribe","channel":"a b"})", R"({"type":"publish","channel":"a"})",
                          R"({"type":"unsubscribe","channel":"never"})"}) {
    ws.sendText(bad);
    auto err = ws.nextOfType("error");
    ASSERT_TRUE(err) << bad;
    EXPECT_FALSE(jsonField(*err, "error").empty());
  }
  // 1000-byte data limit, like /send.
  ws.sendText(R"({"type":"publish","channel":"a","data":")" + std::string(1001, 'z') + "\"}");
  auto tooBig = ws.nextOfType("error");
  ASSERT_TRUE(tooBig);
  EXPECT_NE(tooBig->find("\"status\":413"), std::string::npos) << *tooBig;
  HttpResponse poll = httpGet(port_, "/poll?channel=a&since=x-0&timeout=0");
  EXPECT_NE(poll.body.find("\"messages\":[]"), std::string::npos) << "nothing was stored";
  ws.sendText(R"({"type":"subscribe","channel":"ok"})");
  EXPECT_TRUE(ws.nextOfType("subscribed"));
}

TEST_F(WebSocketTest, ProtocolViolationsCloseWithTheirCodeAndSpareOthers) {
  WsTestClient bystander(port_, "/ws?channel=calm");
  ASSERT_TRUE(bystander.nextOfType("subscribed"));
  struct Case {
    std::string bytes;
    uint16_t code;
  };
  for (const Case& c : std::vector<Case>{
           {encodeClientFrame(0x81, "{}", false), 1002},                    // unmasked
           {encodeClientFrame(0x82, "binary"), 1003},                       // binary
           {encodeClientFrame(0x81, std::string(10000, 'a')), 1009},        // oversized
           {encodeClientFrame(0x81, "\xC3\x28"), 1007},                     // invalid UTF-8
       }) {
    WsTestClient bad(port_, "/ws");
    ASSERT_EQ(bad.status(), 101);
    bad.sendRaw(c.bytes);
    EXPECT_EQ(bad.waitClose(), c.code);
  }
  std::string id = publish(port_, "calm", "unaffected");
  auto m = bystander.nextOfType("message");
  ASSERT_TRUE(m);
  EXPECT_EQ(jsonField(*m, "id"), id);
}

TEST_F(WebSocketTest, ClientCloseIsAnswered) {
  WsTestClient ws(port_, "/ws");
  ws.sendRaw(encodeClientFrame(0x88, std::string("\x03\xE8", 2)));
  EXPECT_EQ(ws.waitClose(), 1000);
}

TEST_F(WebSocketTest, MetricsCountOpenWebSockets) {
  auto count = [&] {
    std::string body = httpGet(port_, "/metrics").body;
    std::string key = "rtdemo_open_connections{transport=\"websocket\"} ";
    size_t p = body.find(key);
    return p == std::string::npos ? -1 : std::atoi(body.c_str() + p + key.size());
  };
  auto published = [&] {
    std::string body = httpGet(port_, "/metrics").body;
    std::string key = "rtdemo_messages_published_total{via=\"websocket\"} ";
    size_t p = body.find(key);
    return p == std::string::npos ? -1 : std::atoi(body.c_str() + p + key.size());
  };
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(published(), 0);
  {
    WsTestClient ws(port_, "/ws?channel=m");
    ASSERT_TRUE(ws.nextOfType("subscribed"));
    EXPECT_EQ(count(), 1);
    ws.sendText(R"({"type":"publish","channel":"m","data":"counted","ref":"r1"})");
    ASSERT_TRUE(ws.nextOfType("ack"));
    EXPECT_EQ(published(), 1);
  }
  EXPECT_TRUE(waitUntil([&] { return count() == 0; }));
}

TEST_F(WebSocketTest, UnsupportedVersionGets426NamingVersion13) {
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  std::string req =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(head.rfind("HTTP/1.1 426", 0), 0u) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Version: 13"), std::string::npos) << head;
}

TEST_F(WebSocketTest, PlainGetIsRefusedWithJson) {
  HttpResponse r = httpGet(port_, "/ws?channel=a");
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(jsonField(r.body, "error").empty());
  EXPECT_EQ(httpGet(port_, "/ws?channel=bad%20name").status, 400);
}

TEST(WebSocketRestart, ResumeAcrossASqliteRestart) {
  char dir[] = "/tmp/rtdemo-ws-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string db = std::string(dir) + "/ws.db";
  int port = 0;  // the first run's, for the second
  std::string seen;
  std::vector<std::string> missed;
  {
    ServerProcess first(wsArgs("sqlite", {"-D", "rtdemo.sqlite.path=" + db}));
    ASSERT_TRUE(first.ready());
    port = first.port();
    WsTestClient ws(port, "/ws?channel=s");
    ASSERT_TRUE(ws.nextOfType("subscribed"));
    seen = publish(port, "s", "seen");
    auto m = ws.nextOfType("message");
    ASSERT_TRUE(m);
    EXPECT_EQ(jsonField(*m, "id"), seen);
    missed.push_back(publish(port, "s", "missed 1"));
    EXPECT_EQ(first.stop(SIGTERM), 0);
    EXPECT_EQ(ws.waitClose(), 1001) << "going away on shutdown";
  }
  ServerProcess second(wsArgs("sqlite", {"-D", "rtdemo.sqlite.path=" + db}), port);
  ASSERT_TRUE(second.ready());
  missed.push_back(publish(port, "s", "missed 2"));
  WsTestClient ws(port, "/ws?channel=s&last_id=" + urlEncode(seen));
  for (const std::string& id : missed) {
    auto m = ws.nextOfType("message");
    ASSERT_TRUE(m);
    EXPECT_EQ(jsonField(*m, "id"), id);
  }
  std::string live = publish(port, "s", "live");
  auto m = ws.nextOfType("message");
  ASSERT_TRUE(m);
  EXPECT_EQ(jsonField(*m, "id"), live);
  second.stop(SIGTERM);
  std::system(("rm -rf " + std::string(dir)).c_str());
}

TEST(WebSocketRestart, MemoryRestartGivesReset) {
  int port = 0;
  std::string old;
  {
    ServerProcess first(wsArgs());
    ASSERT_TRUE(first.ready());
    port = first.port();
    old = publish(port, "m", "before");
  }
  ServerProcess second(wsArgs(), port);
  ASSERT_TRUE(second.ready());
  std::string fresh = publish(port, "m", "after");
  WsTestClient ws(port, "/ws");
  ws.sendText(R"({"type":"subscribe","channel":"m","last_id":")" + old + "\"}");
  auto reset = ws.nextOfType("reset");
  ASSERT_TRUE(reset);
  EXPECT_EQ(jsonField(*reset, "oldest"), fresh);
  auto m = ws.nextOfType("message");
  ASSERT_TRUE(m);
  EXPECT_EQ(jsonField(*m, "id"), fresh);
}

}  // namespace
}  // namespace rtdemo
