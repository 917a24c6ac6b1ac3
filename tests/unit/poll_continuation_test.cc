// parseNextPoll: which follow-up requests on a kept-alive poll connection a
// hub loop may answer itself, and which must go to the HTTP server.
#include <gtest/gtest.h>

#include "service/protocol/poll_continuation.h"

namespace rtdemo {
namespace {

NextPollVerdict parse(const std::string& bytes, NextPoll* out = nullptr,
                      const std::string& origin = "", NextPollLimits limits = {}) {
  NextPoll scratch;
  return parseNextPoll(bytes, origin, limits, out ? out : &scratch);
}

std::string get(const std::string& target, const std::string& headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
}

TEST(NextPoll, APlainRePollIsRead) {
  NextPoll p;
  std::string req = get("/poll?channel=room.1&since=7-12&timeout=20");
  ASSERT_EQ(parse(req, &p), NextPollVerdict::kRePoll);
  EXPECT_EQ(p.channel, "room.1");
  EXPECT_EQ(p.since, "7-12");
  EXPECT_EQ(p.timeoutSeconds, 20);
  EXPECT_TRUE(p.keepAlive);
  EXPECT_EQ(p.length, req.size());
}

TEST(NextPoll, DefaultsAndDecoding) {
  NextPoll p;
  ASSERT_EQ(parse(get("/poll?since=1%2D2"), &p), NextPollVerdict::kRePoll);
  EXPECT_EQ(p.channel, "demo");
  EXPECT_EQ(p.since, "1-2");
  EXPECT_EQ(p.timeoutSeconds, -1);
  ASSERT_EQ(parse(get("/poll?since=1-2", "Connection: close\r\n"), &p), NextPollVerdict::kRePoll);
  EXPECT_FALSE(p.keepAlive);
}

TEST(NextPoll, OnlyTheFirstOfPipelinedRequestsIsConsumed) {
  NextPoll p;
  std::string first = get("/poll?since=1-2");
  ASSERT_EQ(parse(first + get("/poll?since=1-3"), &p), NextPollVerdict::kRePoll);
  EXPECT_EQ(p.length, first.size());
  EXPECT_EQ(p.since, "1-2");
}

TEST(NextPoll, AnIncompleteHeadWaitsUntilItIsTooLong) {
  std::string partial = "GET /poll?since=1-2 HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(parse(partial), NextPollVerdict::kIncomplete);
  NextPollLimits small;
  small.maxBytes = 32;
  EXPECT_EQ(parse(partial, nullptr, "", small), NextPollVerdict::kHandBack);
  EXPECT_EQ(parse(get("/poll?since=1-2"), nullptr, "", small), NextPollVerdict::kHandBack);
}

TEST(NextPoll, EverythingElseGoesToTheHttpServer) {
  const char* cases[] = {
      "POST /poll?since=1-2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
      "GET /poll?since=1-2 HTTP/1.0\r\n\r\n",
      "GET /events?since=1-2 HTTP/1.1\r\n\r\n",
      "GET /poll/x?since=1-2 HTTP/1.1\r\n\r\n",
      "GET /poll?since=1-2 HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
      "GET /poll?since=1-2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET /poll?since=1-2 HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
      "GET /poll?since=1-2 HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
      "GET /poll?since=1-2&timeout=soon HTTP/1.1\r\n\r\n",
      "GET /poll?since=1-2&timeout=-1 HTTP/1.1\r\n\r\n",
      "GET /poll?channel=bad%20name&since=1-2 HTTP/1.1\r\n\r\n",
      "GET /poll?channel=&since=1-2 HTTP/1.1\r\n\r\n",
      "GET /poll?since=%ZZ HTTP/1.1\r\n\r\n",
      "GARBAGE\r\n\r\n",
  };
  for (const char* c : cases) EXPECT_EQ(parse(c), NextPollVerdict::kHandBack) << c;
  std::string longCursor(129, '1');
  EXPECT_EQ(parse(get("/poll?since=" + longCursor)), NextPollVerdict::kHandBack);
}

TEST(NextPoll, TheOriginMustBeTheFirstRequests) {
  std::string withOrigin = get("/poll?since=1-2", "Origin: https://app.example\r\n");
  EXPECT_EQ(parse(withOrigin, nullptr, "https://app.example"), NextPollVerdict::kRePoll);
  EXPECT_EQ(parse(withOrigin, nullptr, ""), NextPollVerdict::kHandBack);
  EXPECT_EQ(parse(get("/poll?since=1-2"), nullptr, "https://app.example"),
            NextPollVerdict::kHandBack);
}

TEST(NextPoll, HeaderCountLimit) {
  NextPollLimits limits;
  limits.maxHeaders = 2;
  EXPECT_EQ(parse(get("/poll?since=1-2", "A: 1\r\n"), nullptr, "", limits),
            NextPollVerdict::kRePoll);
  EXPECT_EQ(parse(get("/poll?since=1-2", "A: 1\r\nB: 2\r\n"), nullptr, "", limits),
            NextPollVerdict::kHandBack);
}

}  // namespace
}  // namespace rtdemo
