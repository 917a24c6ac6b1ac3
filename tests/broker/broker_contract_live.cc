// The Broker contract's live delivery cases (see broker_contract.h): a
// subscriber is woken by a publish, gets its channel's messages in order and
// no others, and nothing after it unsubscribes.
#include <chrono>
#include <thread>
#include <vector>

#include "tests/broker/broker_contract.h"
#include "tests/support/live_collector.h"

namespace rtdemo {

TEST_P(BrokerContractTest, SubscriberWakesOnPublish) {
  open();
  Collector live;
  auto sub = broker_->subscribe("c", live.callback());
  std::string id = publish("c", "wake");
  ASSERT_TRUE(live.waitFor(1));
  EXPECT_EQ(live.messages()[0]->idText, id);
  EXPECT_EQ(live.messages()[0]->data, "wake");
}

TEST_P(BrokerContractTest, LiveMessagesArriveInOrderAndOnlyForTheirChannel) {
  open();
  Collector live;
  auto sub = broker_->subscribe("c", live.callback());
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    ids.push_back(publish("c", std::to_string(i)));
    publish("other", "noise");
  }
  ASSERT_TRUE(live.waitFor(50));
  auto got = live.messages();
  ASSERT_GE(got.size(), 50u);
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(got[i]->idText, ids[i]);
  for (auto& m : got) EXPECT_EQ(m->channel, "c");
}

TEST_P(BrokerContractTest, NoDeliveryAfterUnsubscribe) {
  open();
  Collector kept;
  Collector dropped;
  auto keep = broker_->subscribe("c", kept.callback());
  auto drop = broker_->subscribe("c", dropped.callback());
  publish("c", "one");
  ASSERT_TRUE(dropped.waitFor(1));
  drop.reset();
  publish("c", "two");
  ASSERT_TRUE(kept.waitFor(2));
  EXPECT_EQ(dropped.messages().size(), 1u);
}

TEST_P(BrokerContractTest, TimeoutWithNothingNewReturnsEmpty) {
  // A waiter that sees nothing until its deadline gets an empty answer, not
  // an error: the broker side of that is an empty read after the last id.
  open();
  std::string id = publish("c", "only");
  Collector live;
  auto sub = broker_->subscribe("c", live.callback());
  EXPECT_FALSE(live.waitFor(1, std::chrono::milliseconds(200)));
  HistoryRead h = read("c", id);
  EXPECT_TRUE(h.messages.empty());
  EXPECT_FALSE(h.reset);
}

}  // namespace rtdemo
