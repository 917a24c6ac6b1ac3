// Message id parsing and ordering.
#include "storage/message_id.h"

#include <gtest/gtest.h>

namespace rtdemo {
namespace {

TEST(MessageId, RoundTrips) {
  auto a = MessageId::parse("abc123-42");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->epoch, "abc123");
  EXPECT_EQ(a->major, 42u);
  EXPECT_EQ(a->minor, 0u);
  EXPECT_EQ(a->toString(), "abc123-42");
  auto r = MessageId::parse("ep-1700000000000-3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->major, 1700000000000u);
  EXPECT_EQ(r->minor, 3u);
  EXPECT_EQ(r->toString(), "ep-1700000000000-3");
  EXPECT_EQ(MessageId::start("ep").toString(), "ep-0");
}

TEST(MessageId, RejectsMalformed) {
  for (const char* bad : {"", "-", "ep", "ep-", "-1", "EP-1", "ep-1-", "ep--1", "ep-+1",
                          "ep- 1", "ep-1x", "ep-1-2-3", "ep-99999999999999999999999",
                          "waytoolongepochtoken-1", "e p-1", "ep-1\n"}) {
    EXPECT_FALSE(MessageId::parse(bad)) << bad;
  }
}

TEST(MessageId, OrdersByMajorThenMinor) {
  EXPECT_LT(*MessageId::parse("e-1"), *MessageId::parse("e-2"));
  EXPECT_LT(*MessageId::parse("e-2"), *MessageId::parse("e-10"));
  EXPECT_LT(*MessageId::parse("e-5-1"), *MessageId::parse("e-5-2"));
  EXPECT_LT(*MessageId::parse("e-5"), *MessageId::parse("e-5-1"));
  EXPECT_FALSE(*MessageId::parse("e-5") < *MessageId::parse("e-5"));
}

TEST(MessageId, NewEpochsAreValidAndDistinct) {
  std::string a = newEpoch(), b = newEpoch();
  EXPECT_TRUE(isValidEpoch(a));
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace rtdemo
