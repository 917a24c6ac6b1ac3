// The per-connection SSE retry delay (service/protocol/sse_retry.h): every
// draw in [base, base + jitter], the draws spread over that window, and no
// jitter means exactly the base.
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "service/protocol/sse_retry.h"

namespace rtdemo {
namespace {

TEST(SseRetry, DrawsStayWithinBaseAndBasePlusJitter) {
  sse::RetryDelay delay(2000, 3000);
  for (int i = 0; i < 20000; ++i) {
    int ms = delay.next();
    ASSERT_GE(ms, 2000);
    ASSERT_LE(ms, 5000);
  }
}

TEST(SseRetry, DrawsSpreadOverTheWholeWindow) {
  // 16,000 connections of one instance: the point is that they do not all
  // come back at once. Every tenth of the window gets a share, and no
  // single millisecond gets more than a small fraction of them.
  sse::RetryDelay delay(1000, 2000);
  std::vector<int> tenths(10, 0);
  std::vector<int> perMs(2001, 0);
  const int n = 16000;
  for (int i = 0; i < n; ++i) {
    int off = delay.next() - 1000;
    ++perMs[off];
    ++tenths[std::min(9, off / 200)];
  }
  for (int t = 0; t < 10; ++t) {
    EXPECT_GT(tenths[t], n / 10 / 2) << "tenth " << t;
    EXPECT_LT(tenths[t], n / 10 * 2) << "tenth " << t;
  }
  EXPECT_LT(*std::max_element(perMs.begin(), perMs.end()), 50);
}

TEST(SseRetry, NoJitterIsExactlyTheBase) {
  sse::RetryDelay delay(500, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(delay.next(), 500);
  EXPECT_EQ(sse::RetryDelay(0, 0).next(), 0);
}

TEST(SseRetry, ThreadsDrawIndependently) {
  // Each thread has its own generator: two threads must not replay one
  // sequence (a seed shared by every thread would).
  sse::RetryDelay delay(0, 1000000);
  std::vector<int> a, b;
  std::thread ta([&] { for (int i = 0; i < 50; ++i) a.push_back(delay.next()); });
  std::thread tb([&] { for (int i = 0; i < 50; ++i) b.push_back(delay.next()); });
  ta.join();
  tb.join();
  EXPECT_NE(a, b);
  EXPECT_GT(std::set<int>(a.begin(), a.end()).size(), 40u);
}

}  // namespace
}  // namespace rtdemo
