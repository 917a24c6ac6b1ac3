// The Broker contract's cases for the global cap across channels
// (storage/history_cap.h, see broker_contract.h): the least recently
// published channel goes first and whole, a channel alone over the byte cap
// keeps its newest messages, cursors resume or reset truthfully, and live
// delivery outlives an eviction.
#include <cstdint>
#include <string>
#include <vector>

#include "tests/broker/broker_contract.h"
#include "tests/support/live_collector.h"

namespace rtdemo {

TEST_P(BrokerContractTest, ChannelCapEvictsTheLeastRecentlyPublishedChannel) {
  openWithCap(uint64_t(1) << 30, 3);
  const std::string start = MessageId::start(broker_->epoch()).toString();
  std::string a1 = publish("a", "1");
  std::string b1 = publish("b", "1");
  publish("c", "1");
  std::string a2 = publish("a", "2");  // b is now the least recently published
  publish("d", "1");                   // a fourth channel: b goes
  HistoryStats st = stats();
  EXPECT_EQ(st.channels, 3u);
  EXPECT_EQ(st.evictedChannels, 1u);
  EXPECT_EQ(st.evictedMessages, 1u);
  // A cursor at the floor (b1: no channel with a higher id was evicted) resumes
  // without a reset; one from before it gets a reset.
  HistoryRead fromB1 = read("b", b1);
  EXPECT_FALSE(fromB1.reset) << fromB1.resetReason;
  EXPECT_TRUE(fromB1.messages.empty());
  HistoryRead fromStart = read("b", start);
  EXPECT_TRUE(fromStart.reset);
  EXPECT_TRUE(fromStart.messages.empty());
  HistoryRead a = read("a", "");
  ASSERT_EQ(a.messages.size(), 2u);
  EXPECT_EQ(a.messages[0]->idText, a1);
  EXPECT_EQ(a.messages[1]->idText, a2);
  EXPECT_EQ(read("c", "").messages.size(), 1u);
  EXPECT_EQ(read("d", "").messages.size(), 1u);
  // The lastId of a forgotten channel is a cursor that resumes without reset.
  std::string cursor;
  ASSERT_TRUE(broker_->lastId("b", &cursor).ok());
  // b comes back (c goes): its ids continue above every id it issued before.
  std::string b2 = publish("b", "2");
  EXPECT_TRUE(*MessageId::parse(b1) < *MessageId::parse(b2)) << b1 << " then " << b2;
  HistoryRead resumed = read("b", b1);
  EXPECT_FALSE(resumed.reset) << resumed.resetReason;
  ASSERT_EQ(resumed.messages.size(), 1u);
  EXPECT_EQ(resumed.messages[0]->idText, b2);
  HistoryRead live = read("b", cursor);
  EXPECT_FALSE(live.reset) << live.resetReason;
  EXPECT_EQ(live.messages.size(), 1u);
  EXPECT_TRUE(read("c", start).reset);
  EXPECT_EQ(stats().evictedChannels, 2u);
}

TEST_P(BrokerContractTest, ByteCapEvictsWholeChannelsLeastRecentFirst) {
  const std::string payload(3000, 'x');
  const uint64_t cost = 3000 + 64;  // messageCost(): data + event + 64
  openWithCap(4 * cost - 1, 1000);
  const std::string start = MessageId::start(broker_->epoch()).toString();
  publish("a", payload);
  publish("b", payload);
  publish("c", payload);
  EXPECT_EQ(stats().retainedBytes, 3 * cost);
  EXPECT_EQ(stats().evictedChannels, 0u);
  std::string d = publish("d", payload);  // over by one byte: a goes, whole
  HistoryStats st = stats();
  EXPECT_EQ(st.retainedBytes, 3 * cost);
  EXPECT_EQ(st.channels, 3u);
  EXPECT_EQ(st.evictedChannels, 1u);
  EXPECT_TRUE(read("a", start).reset);
  EXPECT_TRUE(read("a", "").messages.empty());
  for (const char* ch : {"b", "c", "d"}) EXPECT_EQ(read(ch, "").messages.size(), 1u) << ch;
  EXPECT_EQ(read("d", "").messages[0]->idText, d);
}

TEST_P(BrokerContractTest, ChannelAloneOverTheByteCapKeepsItsNewestMessages) {
  const std::string payload(3000, 'x');
  const uint64_t cost = 3000 + 64;
  openWithCap(3 * cost, 1000);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(publish("c", payload));
  HistoryRead all = read("c", "");
  ASSERT_EQ(all.messages.size(), 3u);
  EXPECT_EQ(all.messages[0]->idText, ids[2]);
  HistoryRead fromTrimmed = read("c", ids[0]);
  EXPECT_TRUE(fromTrimmed.reset);
  EXPECT_EQ(fromTrimmed.oldest, ids[2]);
  HistoryRead fromKept = read("c", ids[2]);
  EXPECT_FALSE(fromKept.reset);
  EXPECT_EQ(fromKept.messages.size(), 2u);
  HistoryStats st = stats();
  EXPECT_EQ(st.retainedBytes, 3 * cost);
  EXPECT_EQ(st.evictedMessages, 2u);
  EXPECT_EQ(st.evictedChannels, 0u);
  // A message larger than the whole cap is still accepted, and kept alone.
  std::string big = publish("c", std::string(4 * cost, 'y'));
  HistoryRead onlyBig = read("c", "");
  ASSERT_EQ(onlyBig.messages.size(), 1u);
  EXPECT_EQ(onlyBig.messages[0]->idText, big);
}

TEST_P(BrokerContractTest, LiveDeliveryOutlivesEvictionOfItsChannel) {
  openWithCap(uint64_t(1) << 30, 2);
  Collector live;
  auto sub = broker_->subscribe("a", live.callback());
  publish("a", "1");
  ASSERT_TRUE(live.waitFor(1));
  publish("b", "1");
  publish("c", "1");  // a goes
  EXPECT_EQ(stats().evictedChannels, 1u);
  std::string again = publish("a", "2");
  ASSERT_TRUE(live.waitFor(2));
  EXPECT_EQ(live.messages()[1]->idText, again);
}

}  // namespace rtdemo
