// Publish-body parsing and the validation rules shared by every transport.
#include "service/protocol/send_request.h"

#include <gtest/gtest.h>

#include "service/protocol/validation.h"

namespace rtdemo {
namespace {

SendParse parse(const std::string& type, const std::string& body, SendRequest* out,
                size_t max = 100) {
  return parseSendBody(type, body, max, out);
}

TEST(SendRequest, FormWithDefaults) {
  SendRequest r;
  ASSERT_EQ(parse("application/x-www-form-urlencoded", "data=hi%0Athere", &r).status, 0);
  EXPECT_EQ(r.channel, "demo");
  EXPECT_EQ(r.event, "");
  EXPECT_EQ(r.data, "hi\nthere");
}

TEST(SendRequest, FormAllFieldsAndMessageAlias) {
  SendRequest r;
  ASSERT_EQ(parse("", "channel=room-1&event=chat&message=x", &r).status, 0);
  EXPECT_EQ(r.channel, "room-1");
  EXPECT_EQ(r.event, "chat");
  EXPECT_EQ(r.data, "x");
}

TEST(SendRequest, FormValuesUpToTheDataLimitAreRead) {
  // POCO's form reader stops at 256 KiB per value unless told otherwise;
  // the data limit is rtdemo's to decide, with a 413 past it.
  const size_t limit = 1 << 20;
  SendRequest r;
  std::string big(limit, 'x');
  ASSERT_EQ(parse("application/x-www-form-urlencoded", "data=" + big, &r, limit).status, 0);
  EXPECT_EQ(r.data.size(), limit);
  EXPECT_EQ(parse("application/x-www-form-urlencoded", "data=" + big + "x", &r, limit).status, 413);
}

TEST(SendRequest, Json) {
  SendRequest r;
  ASSERT_EQ(parse("application/json; charset=utf-8",
                  R"({"channel":"c","event":"e","data":"line1\nline2 \u2665"})", &r)
                .status,
            0);
  EXPECT_EQ(r.channel, "c");
  EXPECT_EQ(r.event, "e");
  EXPECT_EQ(r.data, "line1\nline2 \xE2\x99\xA5");
  ASSERT_EQ(parse("application/json", R"({"message":"m"})", &r).status, 0);
  EXPECT_EQ(r.data, "m");
}

TEST(SendRequest, Rejections) {
  struct Case {
    const char* type;
    std::string body;
    int status;
  };
  const std::vector<Case> cases = {
      {"", "channel=c", 400},                         // missing data
      {"", "data=%FF%FE", 400},                       // invalid UTF-8
      {"", "data=%C0%AF", 400},                       // overlong UTF-8
      {"", "data=x&channel=a%0Ab", 400},              // control char in channel
      {"", "data=x&channel=", 400},                   // empty channel
      {"", "data=x&channel=" + std::string(65, 'a'), 400},
      {"", "data=x&event=a%0Db", 400},                // control char in event
      {"", "data=x&event=heartbeat", 400},            // reserved
      {"", "data=x&event=reset", 400},                // reserved
      {"", "data=" + std::string(101, 'a'), 413},     // over the limit
      {"application/json", "{not json", 400},
      {"application/json", "[1,2]", 400},
      {"application/json", R"({"data":5})", 400},
      {"application/json", R"({"data":"x","channel":["a"]})", 400},
      {"application/json", R"({"channel":"c"})", 400},
  };
  for (const Case& c : cases) {
    SendRequest r;
    r.data = "untouched";
    SendParse p = parse(c.type, c.body, &r);
    EXPECT_EQ(p.status, c.status) << c.body;
    EXPECT_FALSE(p.error.empty()) << c.body;
    EXPECT_EQ(r.data, "untouched") << "a rejected body must not fill the output";
  }
}

TEST(Validation, ChannelAndEventNames) {
  EXPECT_EQ(checkChannelName("demo"), "");
  EXPECT_EQ(checkChannelName("a.b_c:d-E9"), "");
  EXPECT_NE(checkChannelName("a b"), "");
  EXPECT_NE(checkChannelName("a/b"), "");
  EXPECT_NE(checkChannelName(std::string("a\0b", 3)), "");
  EXPECT_EQ(checkEventName("update"), "");
  EXPECT_NE(checkEventName("heartbeat"), "");
}

TEST(Validation, Utf8) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain"));
  EXPECT_TRUE(isValidUtf8("\xE2\x99\xA5 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(isValidUtf8("\xE2\x99"));          // truncated
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));      // overlong
}

}  // namespace
}  // namespace rtdemo
