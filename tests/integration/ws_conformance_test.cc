// WebSocket conformance of the real build/rtdemo, following the case groups
// 1-7 of Autobahn|Testsuite (which needs Python 2 and cannot run here), plus
// the attacks from issue 18 that once killed the server.
//
// rtdemo is not an echo server: a text message is a JSON command
// (docs/protocol.md). So where Autobahn checks an echo, these tests send a
// command under the framing being tested and check its answer: a subscribe
// gets "subscribed", a malformed JSON gets an "error". Every test waits on a
// socket state (a read with a timeout), never on a fixed sleep. The comment
// on each names the RFC 6455 section whose required behaviour it checks.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "service/validation.h"
#include "tests/integration/http_client.h"
#include "tests/integration/server_process.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

class WsConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        "--backend", "memory", "-D", "rtdemo.heartbeat.seconds=30"});
    ASSERT_TRUE(server_->ready());
    port_ = server_->port();
  }

  // True while the server process has not exited.
  bool serverRunning() const {
    int status = 0;
    return ::waitpid(server_->pid(), &status, WNOHANG) == 0;
  }

  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

// Issue 18, item 1: a continuation frame whose 64-bit length is 2^64-1, after
// an unfinished text frame. The length arithmetic used to wrap, and the
// payload copy threw std::length_error, which nothing caught: the server
// aborted and every client dropped. RFC 6455 5.2 (the payload length) and
// 7.4.1 (1009: a message too big to process). These are the exact 21 bytes.
TEST_F(WsConformance, HugeContinuationLengthClosesOnlyThatClientWith1009) {
  WsTestClient bystander(port_, "/ws?channel=calm");
  ASSERT_EQ(bystander.status(), 101);
  ASSERT_TRUE(bystander.nextOfType("subscribed"));

  WsTestClient attacker(port_, "/ws");
  ASSERT_EQ(attacker.status(), 101);
  const unsigned char bytes[] = {0x01, 0x81, 0x00, 0x00, 0x00, 0x00, 0x41,  // text, no FIN, "A"
                                 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00};
  static_assert(sizeof bytes == 21, "the repro is 21 bytes");
  attacker.sendRaw(std::string(reinterpret_cast<const char*>(bytes), sizeof bytes));
  EXPECT_EQ(attacker.waitClose(), 1009);

  // The server lives on: it answers HTTP, and the other client still gets
  // what is published to it.
  EXPECT_EQ(httpGet(port_, "/healthz").status, 200);
  std::string id = publish(port_, "calm", "still here");
  auto m = bystander.nextOfType("message");
  ASSERT_TRUE(m) << server_->stderrText();
  EXPECT_EQ(jsonField(*m, "id"), id);
  EXPECT_TRUE(serverRunning()) << server_->stderrText();
}

// Issue 18: an error that quotes a client's input must not split a UTF-8
// character. A text frame that is not UTF-8 makes the client fail the
// connection (RFC 6455 8.1), so one bad command would cost the client its
// socket. The unknown type is quoted in 32 bytes; 29-32 ASCII bytes before
// three-byte characters put the cut inside one in three of the cases.
TEST_F(WsConformance, ErrorFramesQuotingInputAreValidUtf8) {
  WsTestClient ws(port_, "/ws");
  ASSERT_EQ(ws.status(), 101);
  for (size_t ascii = 29; ascii <= 32; ++ascii) {
    std::string type = std::string(ascii, 't') + "\xE2\x82\xAC\xE2\x82\xAC";
    ws.sendText("{\"type\":\"" + type + "\",\"channel\":\"a\",\"ref\":\"\xE2\x82\xAC\"}");
    auto err = ws.nextOfType("error");
    ASSERT_TRUE(err) << ascii;
    EXPECT_TRUE(isValidUtf8(*err)) << *err;
    EXPECT_NE(err->find("unknown type '" + std::string(ascii, 't')), std::string::npos) << *err;
    EXPECT_NE(err->find("\"ref\":\"\xE2\x82\xAC\""), std::string::npos) << *err;
  }
  ws.sendText(R"({"type":"subscribe","channel":"still-open"})");
  EXPECT_TRUE(ws.nextOfType("subscribed"));
}

}  // namespace
}  // namespace rtdemo
