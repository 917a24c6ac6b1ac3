// A flushed Redis (FLUSHALL under running instances) is a new epoch for
// every instance: their next reads reset old cursors, their live
// subscribers get the new epoch's messages from its first one, and the
// wake streams that went with the flush still wake them.
#include "tests/broker/redis_broker_support.h"
#include "tests/support/live_collector.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// Two instances on a private redis-server, B subscribed to "c" and having
// received A's message `before`, and then Redis flushed.
struct FlushedPair {
  explicit FlushedPair(const std::string& what) : prefix(uniquePrefix(what)) {}
  // False (with a test failure) when a step failed.
  bool flush() {
    if (!server.running()) return false;
    a = openOn(server.port(), prefix);
    b = openOn(server.port(), prefix);
    sub = b->subscribe("c", onB.callback());
    before = mustPublish(a.get(), "c", "before");
    // B must have read it before it is flushed away.
    if (!onB.waitFor(1)) {
      ADD_FAILURE() << "B did not receive the message before the flush";
      return false;
    }
    oldEpoch = a->epoch();
    std::string reply = server.command({"FLUSHALL"});
    EXPECT_EQ(reply, "OK");
    return reply == "OK";
  }

  RedisServer server;
  const std::string prefix;
  std::unique_ptr<Broker> a, b;
  Collector onB;
  std::unique_ptr<Subscription> sub;  // destroyed before onB and b
  std::string before;
  std::string oldEpoch;
};

TEST(RedisBroker, FlushedRedisIsANewEpochForEveryInstance) {
  FlushedPair p("flush");
  ASSERT_TRUE(p.flush());
  Broker* a = p.a.get();
  Broker* b = p.b.get();
  Collector& onB = p.onB;
  const std::string& before = p.before;
  const std::string& oldEpoch = p.oldEpoch;
  std::string after = mustPublish(a, "c", "after");
  EXPECT_NE(a->epoch(), oldEpoch);
  EXPECT_EQ(MessageId::parse(after)->epoch, a->epoch());
  // B has not published since; its next read must still see the new epoch.
  HistoryRead h;
  ASSERT_TRUE(b->readAfter("c", before, 100, &h).ok());
  EXPECT_TRUE(h.reset);
  EXPECT_EQ(h.oldest, after);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_EQ(b->epoch(), a->epoch());
  // And B's live subscriber got the new message with its new-epoch id.
  ASSERT_TRUE(onB.waitFor(2));
  EXPECT_EQ(onB.messages()[1]->idText, after);
  // B publishing in the new epoch agrees with A.
  EXPECT_EQ(MessageId::parse(mustPublish(b, "c", "b"))->epoch, a->epoch());
}

TEST(RedisBroker, NewEpochWithIdsNotAboveTheOldCursorIsDeliveredFromItsStart) {
  // After a flush, a channel's new stream starts at the clock: a publish in
  // the same millisecond as the last one before the flush (or after a clock
  // step back) gets an id at or below B's cursor. B must still deliver the
  // new epoch from its first entry, not from the old cursor onwards.
  FlushedPair p("samems");
  ASSERT_TRUE(p.flush());
  RedisServer& server = p.server;
  const std::string& prefix = p.prefix;
  Collector& onB = p.onB;
  const std::string& before = p.before;
  // Another publisher in the same millisecond: the new epoch, and an entry
  // whose stream id equals the old cursor's.
  auto old = MessageId::parse(before);
  ASSERT_TRUE(old);
  std::string epoch = newEpoch();
  std::string sameMs = std::to_string(old->major) + "-" + std::to_string(old->minor);
  ASSERT_EQ(server.command({"SET", prefix + "epoch", epoch}), "OK");
  ASSERT_EQ(server.command({"XADD", prefix + "ch:c", sameMs, "p", epoch, "e", "", "d", "same"}),
            sameMs);
  std::string after = mustPublish(p.a.get(), "c", "after");
  ASSERT_TRUE(onB.waitFor(3));
  auto got = onB.messages();
  EXPECT_EQ(got[1]->idText, (MessageId{epoch, old->major, old->minor}.toString()));
  EXPECT_EQ(got[1]->data, "same");
  EXPECT_EQ(got[2]->idText, after);
  EXPECT_EQ(got.size(), 3u);
}

TEST(RedisBroker, SubscribeAfterAFlushIsWokenAndDelivered) {
  // B's wake stream goes with the flush; its next wake must still wake B's
  // reader, whatever ids the recreated stream starts at.
  FlushedPair p("flushwake");
  ASSERT_TRUE(p.flush());
  Broker* a = p.a.get();
  Broker* b = p.b.get();
  Collector second;
  auto sub2 = b->subscribe("d", second.callback());
  std::string id = mustPublish(a, "d", "y");
  ASSERT_TRUE(second.waitFor(1));
  EXPECT_EQ(second.messages()[0]->idText, id);
  EXPECT_EQ(MessageId::parse(id)->epoch, b->epoch());
}

}  // namespace
}  // namespace rtdemo
