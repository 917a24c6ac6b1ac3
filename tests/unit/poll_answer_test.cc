// Long-poll JSON answers: shape, escaping, and the reset fields.
#include "service/protocol/poll_answer.h"

#include <gtest/gtest.h>

#include "Poco/JSON/Parser.h"

namespace rtdemo {
namespace {

TEST(PollAnswer, EncodesMessagesThatParseBack) {
  std::string tricky = "quote\" back\\ nl\n tab\t ctl\x01 \xE2\x99\xA5";
  auto m = makeMessage("c", MessageId{"ep", 3, 0}, "ev", tricky, 99);
  std::string body = encodePollBody({m}, "ep-3");
  Poco::JSON::Parser parser;
  auto obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  auto list = obj->getArray("messages");
  ASSERT_EQ(list->size(), 1u);
  auto first = list->getObject(0);
  EXPECT_EQ(first->getValue<std::string>("id"), "ep-3");
  EXPECT_EQ(first->getValue<std::string>("event"), "ev");
  EXPECT_EQ(first->getValue<std::string>("data"), tricky);
  EXPECT_EQ(first->getValue<int64_t>("ts"), 99);
  EXPECT_EQ(obj->getValue<std::string>("last_id"), "ep-3");
  EXPECT_FALSE(obj->has("reset"));
}

TEST(PollAnswer, ResetNamesOldest) {
  EXPECT_EQ(encodePollBody({}, "ep-0", true, ""),
            R"({"messages":[],"last_id":"ep-0","reset":true,"oldest":null})");
  EXPECT_EQ(encodePollBody({}, "ep-0", true, "ep-4"),
            R"({"messages":[],"last_id":"ep-0","reset":true,"oldest":"ep-4"})");
}

TEST(PollAnswer, DetachedHeadIsCompleteHttp) {
  std::string r = encodeDetachedHead(200, 2);
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(r.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST(PollAnswer, DetachedHeadsCarryPocosReasonPhrases) {
  EXPECT_EQ(encodeDetachedHead(401, 0).rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u);
  EXPECT_EQ(encodeDetachedHead(503, 0, true).rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
}

}  // namespace
}  // namespace rtdemo
