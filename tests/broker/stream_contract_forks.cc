// The fork and soft-delete cases of the Durable Streams contract (see
// stream_contract.h): createFork, reads through a fork chain
// (storage/stream_read.h), and how delete, expiry and closure treat a
// stream that forks read through, on each backend that has forks.
#include "storage/stream_read.h"
#include "tests/broker/stream_contract.h"
#include "tests/support/live_collector.h"

namespace rtdemo {

StreamResult StreamForkTest::fork(const std::string& channel, const std::string& source,
                                  const std::string& pointId,
                                  const std::vector<std::string>& initial,
                                  const std::string& contentType) {
  StreamConfig c;
  c.contentType = contentType;
  ForkSpec f;
  f.source = source;
  f.pointGiven = !pointId.empty();
  f.pointId = pointId.empty() ? info(source).tailId : pointId;
  StreamAppend a;
  a.messages = initial;
  a.contentType = contentType;
  StreamResult r;
  Status s = broker_->createFork(channel, c, f, a, &r);
  EXPECT_TRUE(s.ok()) << s.toString();
  return r;
}

StreamResult StreamForkTest::remove(const std::string& channel) {
  StreamResult r;
  Status s = broker_->deleteStream(channel, &r);
  EXPECT_TRUE(s.ok()) << s.toString();
  return r;
}

void StreamForkClockTest::SetUp() {
  StreamForkTest::SetUp();
  openWith([&](BrokerConfig* c) { c->clock = clock_; });
}

namespace {

using Strings = std::vector<std::string>;

TEST_P(StreamForkTest, AForkReadsItsSourceUpToTheForkPointThenItsOwn) {
  open();
  StreamResult src = create("src", "text/plain", {"A", "B"});
  ASSERT_EQ(src.stored.size(), 2u);
  StreamResult at1 = fork("f1", "src", src.stored[0]->idText);
  EXPECT_EQ(at1.outcome, StreamOutcome::kOk);
  EXPECT_EQ(at1.tailId, src.stored[0]->idText);  // nothing of its own yet
  StreamResult whole = fork("f2", "src", "", {"C"});
  ASSERT_EQ(whole.stored.size(), 1u);
  EXPECT_LT(src.stored[1]->id, whole.stored[0]->id);  // offsets go on increasing
  EXPECT_EQ(whole.stored[0]->channel, "f2");
  append("src", Strings{"late"});  // after the fork point: not the forks'
  append("f1", Strings{"x"});
  EXPECT_EQ(contents("f1"), Strings({"A", "x"}));
  EXPECT_EQ(contents("f2"), Strings({"A", "B", "C"}));
  EXPECT_EQ(contents("src"), Strings({"A", "B", "late"}));
  StreamInfo i = info("f2");
  EXPECT_EQ(i.forkedFrom, "src");
  EXPECT_EQ(i.startId, info("src").startId);
  EXPECT_EQ(info("src").forks, 2);
  // Read from inside the inherited part, a page at a time.
  StreamHistory page;
  ASSERT_TRUE(readStreamHistory(*broker_, "f2", i, src.stored[0]->id, 1, &page).ok());
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0]->data, "B");
  ASSERT_TRUE(readStreamHistory(*broker_, "f2", i, page.next, 10, &page).ok());
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0]->data, "C");
  EXPECT_EQ(page.next.toString(), i.tailId);
}

TEST_P(StreamForkTest, AForkOfAForkReadsTheWholeChain) {
  open();
  create("l0", "text/plain", {"A"});
  fork("l1", "l0", "", {"B"});
  fork("l2", "l1", "", {"C"});
  append("l0", Strings{"0"});
  append("l1", Strings{"1"});
  EXPECT_EQ(contents("l0"), Strings({"A", "0"}));
  EXPECT_EQ(contents("l1"), Strings({"A", "B", "1"}));
  EXPECT_EQ(contents("l2"), Strings({"A", "B", "C"}));
}

TEST_P(StreamForkTest, TheForkSeesOnlyItsOwnLiveMessages) {
  open();
  create("src", "text/plain", {"A"});
  fork("f", "src");
  Collector live;
  auto sub = broker_->subscribe("f", live.callback());
  append("src", Strings{"not the fork's"});
  StreamResult own = append("f", Strings{"own"});
  ASSERT_TRUE(live.waitFor(1));
  EXPECT_EQ(live.messages()[0]->idText, own.tailId);
  EXPECT_EQ(live.messages().size(), 1u);
}

TEST_P(StreamForkTest, RefusedForksChangeNothing) {
  open();
  StreamResult src = create("src", "text/plain", {"A"});
  StreamConfig json;
  json.contentType = "application/json";
  ForkSpec f;
  f.source = "src";
  f.pointId = src.tailId;
  StreamResult r;
  ASSERT_TRUE(broker_->createFork("f", json, f, StreamAppend(), &r).ok());
  EXPECT_EQ(r.outcome, StreamOutcome::kContentTypeMismatch);
  EXPECT_FALSE(exists("f"));
  EXPECT_EQ(info("src").forks, 0);  // no reference leaked
  StreamConfig text;
  text.contentType = "text/plain";
  f.source = "nowhere";
  ASSERT_TRUE(broker_->createFork("f", text, f, StreamAppend(), &r).ok());
  EXPECT_EQ(r.outcome, StreamOutcome::kSourceNotFound);
  f.source = "src";
  MessageId beyond = *MessageId::parse(src.tailId);
  beyond.major += 5;
  f.pointId = beyond.toString();
  ASSERT_TRUE(broker_->createFork("f", text, f, StreamAppend(), &r).ok());
  EXPECT_EQ(r.outcome, StreamOutcome::kForkPointInvalid);
  f.pointId = "otherepoch-1";
  ASSERT_TRUE(broker_->createFork("f", text, f, StreamAppend(), &r).ok());
  EXPECT_EQ(r.outcome, StreamOutcome::kForkPointInvalid);
  EXPECT_FALSE(exists("f"));
  // A plain stream at a fork's name, and a fork at a plain stream's, conflict.
  fork("f", "src");
  EXPECT_EQ(create("f").outcome, StreamOutcome::kConfigConflict);
  EXPECT_EQ(fork("f", "src").outcome, StreamOutcome::kExists);
  create("plain");
  EXPECT_EQ(fork("plain", "src").outcome, StreamOutcome::kConfigConflict);
  EXPECT_EQ(info("src").forks, 1);
}

TEST_P(StreamForkTest, DeletingASourceWithForksSoftDeletesIt) {
  open();
  create("src", "text/plain", {"kept"});
  fork("f", "src", "", {"own"});
  EXPECT_EQ(remove("src").outcome, StreamOutcome::kOk);
  StreamInfo gone = info("src");  // still there, for the fork
  EXPECT_TRUE(gone.softDeleted);
  EXPECT_EQ(contents("f"), Strings({"kept", "own"}));
  EXPECT_EQ(remove("src").outcome, StreamOutcome::kGone);
  EXPECT_EQ(create("src").outcome, StreamOutcome::kGone);  // the name is not reused
  StreamResult r = append("src", Strings{"more"});
  EXPECT_EQ(r.outcome, StreamOutcome::kGone);
  StreamConfig text;
  text.contentType = "text/plain";
  ForkSpec f{"src", gone.tailId, true, 0};
  ASSERT_TRUE(broker_->createFork("g", text, f, StreamAppend(), &r).ok());
  EXPECT_EQ(r.outcome, StreamOutcome::kSourceGone);
  // The last fork going takes the soft-deleted source with it.
  EXPECT_EQ(remove("f").outcome, StreamOutcome::kOk);
  EXPECT_FALSE(exists("f"));
  EXPECT_FALSE(exists("src"));
  EXPECT_EQ(create("src").outcome, StreamOutcome::kOk);
}

TEST_P(StreamForkTest, DeletingTheLastForkCascadesUpTheChain) {
  open();
  create("l0", "text/plain", {"root"});
  fork("l1", "l0");
  fork("l2", "l1");
  remove("l0");
  remove("l1");
  EXPECT_TRUE(info("l0").softDeleted);
  EXPECT_TRUE(info("l1").softDeleted);
  EXPECT_EQ(contents("l2"), Strings({"root"}));
  remove("l2");
  EXPECT_FALSE(exists("l2"));
  EXPECT_FALSE(exists("l1"));
  EXPECT_FALSE(exists("l0"));
}

TEST_P(StreamForkTest, ASourceWhoseForksAreAllGoneStaysAlive) {
  open();
  create("src", "text/plain", {"alive"});
  fork("f1", "src");
  fork("f2", "src");
  remove("f1");
  remove("f2");
  EXPECT_FALSE(info("src").softDeleted);
  EXPECT_EQ(info("src").forks, 0);
  EXPECT_EQ(contents("src"), Strings({"alive"}));
  EXPECT_EQ(remove("src").outcome, StreamOutcome::kOk);
  EXPECT_FALSE(exists("src"));
}

TEST_P(StreamForkTest, ForksDoNotInheritClosureOrProducers) {
  open();
  create("src", "text/plain", {"a"});
  appendAs("src", "p", 0, 0, "b");
  StreamAppend close;
  close.close = true;
  append("src", close);
  StreamResult f = fork("f", "src");
  EXPECT_FALSE(f.closed);
  StreamResult again = appendAs("f", "p", 0, 0, "c");  // seq 0 is new here
  EXPECT_EQ(again.outcome, StreamOutcome::kOk);
  EXPECT_EQ(contents("f"), Strings({"a", "b", "c"}));
  append("f", close);
  EXPECT_TRUE(info("f").closed);
  // A closed stream refuses rtdemo's own publish too (/send, WebSocket).
  MessagePtr m;
  Status s = broker_->publish("f", "", "late", &m);
  EXPECT_EQ(s.code(), Status::Code::kConflict) << s.toString();
  EXPECT_EQ(contents("f"), Strings({"a", "b", "c"}));
  std::vector<MessagePtr> stored;
  s = broker_->publishBatch({{"open", "", "1"}, {"f", "", "2"}}, &stored);
  EXPECT_EQ(s.code(), Status::Code::kConflict) << s.toString();
  HistoryRead h = read("open", "");
  EXPECT_TRUE(h.messages.empty());  // all or nothing
  publish("open", "fine");
}

TEST_P(StreamForkClockTest, AnExpiredSourceWithForksIsSoftDeleted) {
  StreamConfig c;
  c.contentType = "text/plain";
  c.ttlSeconds = 1;
  StreamAppend a;
  a.messages = {"data"};
  a.contentType = "text/plain";
  StreamResult r;
  ASSERT_TRUE(broker_->createStream("src", c, a, &r).ok());
  fork("f", "src");  // no TTL of its own here
  clock_->set(clock_->nowMs() + 1500);
  StreamInfo i = info("src");
  EXPECT_TRUE(i.softDeleted);
  EXPECT_EQ(contents("f"), Strings({"data"}));
  remove("f");
  EXPECT_FALSE(exists("src"));
}

}  // namespace
}  // namespace rtdemo
