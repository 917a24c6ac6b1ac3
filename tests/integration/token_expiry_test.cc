// Subscriptions to private channels end when the token that allowed them
// expires (hub_expiry.cc): SSE gets a "token-expired" event and the stream
// ends, a parked poll is answered 401, and a WebSocket loses only that
// subscription, with an "expired" message.
#include <gtest/gtest.h>
#include <poll.h>

#include "tests/support/auth_support.h"
#include "tests/support/server_process.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

class TokenExpiry : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        "--backend", "memory", "-D", "rtdemo.auth.publish=jwt",
        "-D", "rtdemo.auth.jwt.secret=" + kTestSecret, "-D", "rtdemo.auth.private-prefix=private:",
        "-D", "rtdemo.auth.jwt.leeway.seconds=0", "-D", "rtdemo.heartbeat.seconds=5",
        "-D", "rtdemo.poll.timeout.seconds=30"});
    ASSERT_TRUE(server_->ready());
    port_ = server_->port();
  }
  // A reader's token for private:room that expires in two seconds.
  std::string shortToken() { return makeToken("--subscribe 'private:*' --ttl 2"); }

  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(TokenExpiry, AnSseStreamEndsWithATokenExpiredEvent) {
  // The token in the header, as curl or an EventSource polyfill send it.
  int fd = connectLoopback(port_);
  const std::string req = "GET /events?channel=private:room HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer " + shortToken() + "\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + 15s;
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) closed = true;
    else got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find("event: token-expired\ndata: {\"error\":\"token expired\",\"channel\":\"private:room\"}"),
            std::string::npos)
      << got;
  EXPECT_TRUE(closed) << "the stream outlived its token";
  EXPECT_EQ(metric(port_, "rtdemo_token_expiries_total"), 1);
}

TEST_F(TokenExpiry, AParkedPollIsAnswered401) {
  int fd = connectLoopback(port_);
  const std::string req = "GET /poll?channel=private:room&timeout=30&since=" +
                          cursorOf(port_, "private:room", bearer(makeToken("--subscribe '*'"))) +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + shortToken() +
                          "\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string pending;
  HttpResponse r = readResponseOn(fd, &pending, 15s);
  ::close(fd);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(jsonField(r.body, "error"), "token expired");
}

TEST_F(TokenExpiry, AWebSocketLosesOnlyTheExpiredSubscription) {
  WsTestClient ws(port_, "/ws", bearer(shortToken()));
  ASSERT_EQ(ws.status(), 101) << ws.responseHead();
  ws.sendText(R"({"type":"subscribe","channel":"private:room","ref":"p"})");
  ASSERT_TRUE(ws.nextOfType("subscribed"));
  ws.sendText(R"({"type":"subscribe","channel":"open","ref":"o"})");
  ASSERT_TRUE(ws.nextOfType("subscribed"));
  auto expired = ws.nextOfType("expired", 15s);
  ASSERT_TRUE(expired);
  EXPECT_EQ(jsonField(*expired, "channel"), "private:room");
  // The public subscription goes on.
  std::string publisher = makeToken("--publish '*'");
  ASSERT_EQ(sendForm(port_, "open", "still here", bearer(publisher)).status, 201);
  auto msg = ws.nextOfType("message");
  ASSERT_TRUE(msg);
  EXPECT_EQ(jsonField(*msg, "channel"), "open");
}

}  // namespace
}  // namespace rtdemo
