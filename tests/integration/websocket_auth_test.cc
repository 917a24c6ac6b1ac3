// The security rules on the WebSocket transport: the same tokens, private
// channels and Origin check as SSE and /send, refused with an error message
// (or a refused upgrade) and nothing stored.
#include <gtest/gtest.h>

#include "tests/support/auth_support.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

std::vector<std::string> wsAuthArgs() {
  return {"--backend", "memory",
          "-D", "rtdemo.auth.publish=jwt",
          "-D", "rtdemo.auth.jwt.secret=" + kTestSecret,
          "-D", "rtdemo.auth.private-prefix=private:"};
}

class WebSocketAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(wsAuthArgs());
    ASSERT_TRUE(server_->ready());
    port_ = server_->port();
  }
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(WebSocketAuthTest, PublishNeedsATokenCoveringTheChannel) {
  const std::string newsBefore = cursorOf(port_, "news");
  const std::string sportsBefore = cursorOf(port_, "sports");
  WsTestClient anonymous(port_, "/ws");
  ASSERT_EQ(anonymous.status(), 101);
  anonymous.sendText(R"({"type":"publish","channel":"news","data":"x","ref":"a"})");
  auto refused = anonymous.nextOfType("error");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("\"status\":401"), std::string::npos) << *refused;

  WsTestClient publisher(port_, "/ws", bearer(makeToken("--publish news --ttl 600")));
  ASSERT_EQ(publisher.status(), 101);
  publisher.sendText(R"({"type":"publish","channel":"sports","data":"x","ref":"b"})");
  auto forbidden = publisher.nextOfType("error");
  ASSERT_TRUE(forbidden);
  EXPECT_NE(forbidden->find("\"status\":403"), std::string::npos) << *forbidden;
  expectNothingStored(port_, "news", newsBefore);
  expectNothingStored(port_, "sports", sportsBefore);

  publisher.sendText(R"({"type":"publish","channel":"news","data":"ok","ref":"c"})");
  auto ack = publisher.nextOfType("ack");
  ASSERT_TRUE(ack);
  EXPECT_EQ(jsonField(*ack, "ref"), "c");
}

TEST_F(WebSocketAuthTest, PrivateChannelsNeedASubscribeClaim) {
  // At the upgrade, with ?channel=.
  WsTestClient byQuery(port_, "/ws?channel=private:room");
  EXPECT_NE(byQuery.status(), 101);
  // With a subscribe message.
  WsTestClient anonymous(port_, "/ws");
  anonymous.sendText(R"({"type":"subscribe","channel":"private:room"})");
  auto refused = anonymous.nextOfType("error");
  ASSERT_TRUE(refused);
  EXPECT_FALSE(jsonField(*refused, "error").empty());

  WsTestClient member(port_, "/ws", bearer(makeToken("--subscribe 'private:*' --ttl 600")));
  member.sendText(R"({"type":"subscribe","channel":"private:room"})");
  ASSERT_TRUE(member.nextOfType("subscribed"));
  std::string id = jsonField(
      sendForm(port_, "private:room", "for members", bearer(makeToken("--publish '*' --ttl 600"))).body, "id");
  auto m = member.nextOfType("message");
  ASSERT_TRUE(m);
  EXPECT_EQ(jsonField(*m, "id"), id);
}

TEST_F(WebSocketAuthTest, CookieAuthFromAnotherSiteIsRefusedAtTheUpgrade) {
  std::string token = makeToken("--publish '*' --ttl 600");
  WsTestClient crossSite(port_, "/ws", {{"Cookie", "rtdemo_token=" + token},
                                        {"Origin", "https://evil.example"}});
  EXPECT_EQ(crossSite.status(), 403) << crossSite.responseHead();
}

}  // namespace
}  // namespace rtdemo
