// Bytes a client sends before the server expects them: POCO's HTTP session
// reads ahead of the request it parses, so when a handler hands the socket
// to the hub, those bytes are in POCO's buffer, not in the socket. They
// must not be lost: frames sent with a WebSocket upgrade, and a request
// pipelined behind a long poll that parks (http_util.h, prefixed_socket.h).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

class Pipelining : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{"--backend", "memory"});
    ASSERT_TRUE(server_->ready());
    port_ = server_->port();
  }
  std::string cursor(const std::string& channel) {
    return jsonField(httpGet(port_, "/poll?channel=" + channel + "&timeout=0").body, "last_id");
  }
  // Sends `bytes` in one write on a new connection.
  int sendAll(const std::string& bytes) {
    int fd = connectLoopback(port_);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
    return fd;
  }
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(Pipelining, FramesSentWithTheWebSocketUpgradeAreRead) {
  WsTestClient ws(port_, "/ws", {},
                  encodeClientFrame(0x81, R"({"type":"subscribe","channel":"e","ref":"early"})"));
  ASSERT_EQ(ws.status(), 101);
  auto subscribed = ws.nextOfType("subscribed");
  ASSERT_TRUE(subscribed);
  EXPECT_EQ(jsonField(*subscribed, "ref"), "early");
}

TEST_F(Pipelining, ARePollPipelinedBehindAParkedPollIsAnswered) {
  const std::string since = cursor("p");
  int fd = sendAll(get("/poll?channel=p&timeout=20&since=" + since) +
                   get("/poll?channel=p&timeout=20&since=PLACEHOLDER"));
  ASSERT_TRUE(waitUntil([&] { return metric(port_, "rtdemo_open_connections{transport=\"poll\"}") == 1; }));
  std::string first = publish(port_, "p", "one");
  std::string pending;
  HttpResponse a = readResponseOn(fd, &pending);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(jsonField(a.body, "last_id"), first);
  // The second request names a cursor this history never issued: a reset
  // and every message, answered on the same connection.
  HttpResponse b = readResponseOn(fd, &pending);
  ::close(fd);
  ASSERT_EQ(b.status, 200) << "the pipelined poll was never answered";
  EXPECT_NE(b.body.find("\"reset\":true"), std::string::npos) << b.body;
  EXPECT_NE(b.body.find(first), std::string::npos) << b.body;
}

TEST_F(Pipelining, AnotherRequestPipelinedBehindAParkedPollGoesToTheHttpServer) {
  const std::string since = cursor("h");
  int fd = sendAll(get("/poll?channel=h&timeout=20&since=" + since) + get("/healthz"));
  ASSERT_TRUE(waitUntil([&] { return metric(port_, "rtdemo_open_connections{transport=\"poll\"}") == 1; }));
  publish(port_, "h", "wake");
  std::string pending;
  HttpResponse a = readResponseOn(fd, &pending);
  ASSERT_EQ(a.status, 200);
  HttpResponse b = readResponseOn(fd, &pending);
  ::close(fd);
  ASSERT_EQ(b.status, 200) << "the pipelined /healthz was never answered";
  EXPECT_NE(b.body.find("ok"), std::string::npos) << b.body;
}

}  // namespace
}  // namespace rtdemo
