// The retry: of real SSE streams (rtdemo.retry.ms, rtdemo.retry.jitter.ms):
// each connection is told its own delay within [base, base + jitter], so the
// clients of a dead instance do not reconnect in one burst; and a bad value
// of either key stops the start with one line naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// The retry: of one new stream (-1 if none came). The preamble is a comment
// and the retry: field, no event, so next() returns on its short timeout
// once the preamble has been read.
int retryOfNewStream(int port) {
  SseClient sse(port, "/events?channel=retry");
  EXPECT_EQ(sse.status(), 200);
  waitUntil([&] {
    sse.next(20ms);
    return sse.retryMs() >= 0;
  }, 5s);
  return sse.retryMs();
}

TEST(SseRetry, EachStreamGetsItsOwnDelayWithinTheWindow) {
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.retry.ms=1000",
                        "-D", "rtdemo.retry.jitter.ms=500"});
  ASSERT_TRUE(server.ready());
  std::set<int> seen;
  for (int i = 0; i < 40; ++i) {
    int ms = retryOfNewStream(server.port());
    EXPECT_GE(ms, 1000);
    EXPECT_LE(ms, 1500);
    seen.insert(ms);
  }
  // 40 draws from 501 values: all equal would mean no jitter at all.
  EXPECT_GT(seen.size(), 10u);
}

TEST(SseRetry, ZeroJitterSendsExactlyTheBase) {
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.retry.ms=700",
                        "-D", "rtdemo.retry.jitter.ms=0"});
  ASSERT_TRUE(server.ready());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(retryOfNewStream(server.port()), 700);
}

TEST(SseRetry, BadValuesStopTheStartWithOneLine) {
  for (const char* arg : {"rtdemo.retry.jitter.ms=-1", "rtdemo.retry.jitter.ms=soon",
                          "rtdemo.retry.jitter.ms=3600001", "rtdemo.retry.ms=-5"}) {
    ServerProcess::Exit exit = ServerProcess::runToExit({"--backend", "memory", "-D", arg});
    EXPECT_NE(exit.code, 0) << arg;
    std::string key = std::string(arg).substr(0, std::string(arg).find('='));
    EXPECT_NE(exit.stderrText.find(key), std::string::npos) << exit.stderrText;
    EXPECT_EQ(std::count(exit.stderrText.begin(), exit.stderrText.end(), '\n'), 1)
        << exit.stderrText;
  }
}

}  // namespace
}  // namespace rtdemo
