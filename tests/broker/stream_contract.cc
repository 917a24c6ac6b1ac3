// The Durable Streams contract cases (see stream_contract.h): every rule of
// storage/stream.h and stream_rules.h that a client can observe through the
// Broker, on each backend.
#include "tests/broker/stream_contract.h"

#include <atomic>
#include <thread>

#include "storage/stream_read.h"
#include "tests/support/live_collector.h"

namespace rtdemo {

StreamResult StreamContractTest::create(const std::string& channel,
                                        const std::string& contentType,
                                        const std::vector<std::string>& initial) {
  StreamConfig c;
  c.contentType = contentType;
  StreamAppend a;
  a.messages = initial;
  a.contentType = contentType;
  StreamResult r;
  Status s = broker_->createStream(channel, c, a, &r);
  EXPECT_TRUE(s.ok()) << s.toString();
  return r;
}

StreamResult StreamContractTest::append(const std::string& channel, StreamAppend a) {
  if (a.contentType.empty()) a.contentType = "text/plain";
  StreamResult r;
  Status s = broker_->appendStream(channel, a, &r);
  EXPECT_TRUE(s.ok()) << s.toString();
  return r;
}

StreamResult StreamContractTest::append(const std::string& channel,
                                        const std::vector<std::string>& messages) {
  StreamAppend a;
  a.messages = messages;
  return append(channel, a);
}

StreamResult StreamContractTest::appendAs(const std::string& channel,
                                          const std::string& producer, int64_t epoch,
                                          int64_t seq, const std::string& data) {
  StreamAppend a;
  a.messages = {data};
  a.producer = ProducerClaim{producer, epoch, seq};
  return append(channel, a);
}

StreamInfo StreamContractTest::info(const std::string& channel) {
  StreamInfo i;
  bool there = false;
  Status s = broker_->streamInfo(channel, &i, &there);
  EXPECT_TRUE(s.ok()) << s.toString();
  EXPECT_TRUE(there) << channel;
  return i;
}

bool StreamContractTest::exists(const std::string& channel) {
  StreamInfo i;
  bool there = false;
  Status s = broker_->streamInfo(channel, &i, &there);
  EXPECT_TRUE(s.ok()) << s.toString();
  return there;
}

std::vector<std::string> StreamContractTest::contents(const std::string& channel) {
  std::vector<std::string> out;
  StreamInfo i = info(channel);
  StreamHistory h;
  Status s = readStreamHistory(*broker_, channel, i, *MessageId::parse(i.startId), 1000, &h);
  EXPECT_TRUE(s.ok()) << s.toString();
  EXPECT_FALSE(h.gone) << h.reason;
  for (const MessagePtr& m : h.messages) out.push_back(m->data);
  return out;
}

void StreamClockTest::SetUp() {
  StreamContractTest::SetUp();
  openWith([&](BrokerConfig* c) { c->clock = clock_; });
}

using Strings = std::vector<std::string>;

TEST_P(StreamContractTest, CreateIsIdempotentAndAnotherConfigConflicts) {
  open();
  StreamResult r = create("s", "text/plain", {"a"});
  EXPECT_EQ(r.outcome, StreamOutcome::kOk);
  ASSERT_EQ(r.stored.size(), 1u);
  EXPECT_EQ(r.tailId, r.stored[0]->idText);
  EXPECT_EQ(create("s", "text/plain").outcome, StreamOutcome::kExists);
  StreamResult other = create("s", "application/json", {"1"});
  EXPECT_EQ(other.outcome, StreamOutcome::kConfigConflict);
  EXPECT_TRUE(other.stored.empty());
  EXPECT_EQ(other.tailId, r.tailId);
  StreamConfig ttl;
  ttl.contentType = "text/plain";
  ttl.ttlSeconds = 60;
  StreamResult withTtl;
  ASSERT_TRUE(broker_->createStream("s", ttl, StreamAppend(), &withTtl).ok());
  EXPECT_EQ(withTtl.outcome, StreamOutcome::kConfigConflict);
  EXPECT_EQ(contents("s"), Strings({"a"}));
  EXPECT_EQ(info("s").config.contentType, "text/plain");
}

TEST_P(StreamContractTest, AStreamIsItsChannel) {
  open();
  Collector live;
  auto sub = broker_->subscribe("s", live.callback());
  StreamResult r = create("s", "text/plain", {"one", "two"});
  ASSERT_EQ(r.stored.size(), 2u);
  EXPECT_EQ(r.stored[0]->channel, "s");
  EXPECT_LT(r.stored[0]->id, r.stored[1]->id);
  std::string sent = publish("s", "three");  // a /send to the same channel
  StreamResult more = append("s", Strings{"four"});
  ASSERT_TRUE(live.waitFor(4));
  std::vector<MessagePtr> got = live.messages();
  EXPECT_EQ(got[0]->data, "one");
  EXPECT_EQ(got[2]->idText, sent);
  EXPECT_EQ(got[3]->idText, more.tailId);
  EXPECT_EQ(contents("s"), Strings({"one", "two", "three", "four"}));
  std::string last;
  ASSERT_TRUE(broker_->lastId("s", &last).ok());
  EXPECT_EQ(info("s").tailId, last);
}

TEST_P(StreamContractTest, AnEmptyStreamStartsAtItsTail) {
  open();
  publish("s", "before");  // the channel had history before it was a stream
  StreamResult r = create("s", "text/plain");
  EXPECT_TRUE(r.stored.empty());
  StreamInfo i = info("s");
  EXPECT_EQ(i.startId, i.tailId);
  EXPECT_EQ(i.tailId, r.tailId);
  EXPECT_FALSE(i.closed);
  EXPECT_TRUE(contents("s").empty());
}

TEST_P(StreamContractTest, APlainChannelIsNoStream) {
  open();
  publish("c", "x");
  EXPECT_FALSE(exists("c"));
  EXPECT_FALSE(exists("never"));
  EXPECT_EQ(append("c", Strings{"y"}).outcome, StreamOutcome::kNotFound);
  StreamResult d;
  ASSERT_TRUE(broker_->deleteStream("c", &d).ok());
  EXPECT_EQ(d.outcome, StreamOutcome::kNotFound);
  EXPECT_EQ(read("c", "").messages.size(), 1u);  // nothing changed
}

TEST_P(StreamContractTest, ContentTypeMismatchStoresNothing) {
  open();
  create("s", "application/json");
  StreamAppend a;
  a.messages = {"x"};
  a.contentType = "text/plain";
  EXPECT_EQ(append("s", a).outcome, StreamOutcome::kContentTypeMismatch);
  a.contentType = "application/json";
  a.messages = {"1", "[2]"};
  StreamResult ok = append("s", a);
  EXPECT_EQ(ok.outcome, StreamOutcome::kOk);
  EXPECT_EQ(contents("s"), Strings({"1", "[2]"}));
}

TEST_P(StreamContractTest, OneAppendOfManyMessagesIsOneRunOfIds) {
  open();
  create("s");
  StreamResult r = append("s", Strings{"a", "b", "c"});
  ASSERT_EQ(r.stored.size(), 3u);
  EXPECT_LT(r.stored[0]->id, r.stored[1]->id);
  EXPECT_LT(r.stored[1]->id, r.stored[2]->id);
  EXPECT_EQ(r.tailId, r.stored[2]->idText);
  HistoryRead h = read("s", r.stored[0]->idText);
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages[0]->data, "b");
}

TEST_P(StreamContractTest, BinaryMessagesRoundTripWithTheirEvent) {
  open();
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  StreamConfig c;
  c.contentType = "application/octet-stream";
  StreamAppend a;
  a.contentType = c.contentType;
  a.event = "binary";
  a.messages = {bytes, std::string(1, '\0')};
  StreamResult r;
  ASSERT_TRUE(broker_->createStream("b", c, a, &r).ok());
  HistoryRead h = read("b", info("b").startId);
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages[0]->data, bytes);
  EXPECT_EQ(h.messages[0]->event, "binary");
  EXPECT_EQ(h.messages[1]->data, std::string(1, '\0'));
}

TEST_P(StreamContractTest, ProducerSequencesAreExactlyOnce) {
  open();
  create("s");
  StreamResult r = appendAs("s", "p", 0, 0, "a");
  EXPECT_EQ(r.outcome, StreamOutcome::kOk);
  EXPECT_EQ(r.producerEpoch, 0);
  EXPECT_EQ(r.producerSeq, 0);
  EXPECT_EQ(appendAs("s", "p", 0, 1, "b").outcome, StreamOutcome::kOk);
  StreamResult dup = appendAs("s", "p", 0, 0, "a again");
  EXPECT_EQ(dup.outcome, StreamOutcome::kDuplicate);
  EXPECT_EQ(dup.producerSeq, 1);  // the highest accepted, not the request's
  EXPECT_TRUE(dup.stored.empty());
  EXPECT_EQ(dup.tailId, info("s").tailId);
  StreamResult gap = appendAs("s", "p", 0, 5, "x");
  EXPECT_EQ(gap.outcome, StreamOutcome::kSeqGap);
  EXPECT_EQ(gap.producerSeq, 2);
  EXPECT_EQ(appendAs("s", "p", 1, 3, "x").outcome, StreamOutcome::kEpochNotFromZero);
  EXPECT_EQ(contents("s"), Strings({"a", "b"}));
}

TEST_P(StreamContractTest, ANewEpochFencesTheOldOne) {
  open();
  create("s");
  appendAs("s", "p", 0, 0, "a");
  StreamResult bumped = appendAs("s", "p", 1, 0, "b");
  EXPECT_EQ(bumped.outcome, StreamOutcome::kOk);
  EXPECT_EQ(bumped.producerEpoch, 1);
  StreamResult zombie = appendAs("s", "p", 0, 1, "zombie");
  EXPECT_EQ(zombie.outcome, StreamOutcome::kStaleEpoch);
  EXPECT_EQ(zombie.producerEpoch, 1);
  EXPECT_EQ(appendAs("s", "p", 1, 1, "c").outcome, StreamOutcome::kOk);
  EXPECT_EQ(contents("s"), Strings({"a", "b", "c"}));
}

TEST_P(StreamContractTest, ProducersAreIndependentAndANewOneStartsAtZero) {
  open();
  create("s");
  StreamResult late = appendAs("s", "q", 0, 2, "x");
  EXPECT_EQ(late.outcome, StreamOutcome::kSeqGap);
  EXPECT_EQ(late.producerSeq, 0);
  EXPECT_EQ(appendAs("s", "p", 0, 0, "p0").outcome, StreamOutcome::kOk);
  EXPECT_EQ(appendAs("s", "q", 0, 0, "q0").outcome, StreamOutcome::kOk);
  EXPECT_EQ(appendAs("s", "p", 0, 1, "p1").outcome, StreamOutcome::kOk);
  create("t");
  EXPECT_EQ(appendAs("t", "p", 0, 0, "other stream").outcome, StreamOutcome::kOk);
  EXPECT_EQ(contents("s"), Strings({"p0", "q0", "p1"}));
}

TEST_P(StreamContractTest, ConcurrentProducersEachStoreEverySeqOnce) {
  open();
  create("s");
  constexpr int kProducers = 4, kSeqs = 40;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int seq = 0; seq < kSeqs; ++seq) {
        // Each seq is sent twice, as a client retrying a lost answer would.
        for (int attempt = 0; attempt < 2; ++attempt) {
          StreamAppend a;
          a.contentType = "text/plain";
          a.messages = {std::to_string(p) + ":" + std::to_string(seq)};
          a.producer = ProducerClaim{"p" + std::to_string(p), 0, seq};
          StreamResult r;
          Status s = broker_->appendStream("s", a, &r);
          StreamOutcome want = attempt == 0 ? StreamOutcome::kOk : StreamOutcome::kDuplicate;
          if (!s.ok() || r.outcome != want) ++refused;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 0);
  std::vector<std::string> got = contents("s");
  ASSERT_EQ(got.size(), size_t(kProducers * kSeqs));
  std::vector<int> next(kProducers, 0);
  for (const std::string& m : got) {
    int p = std::stoi(m.substr(0, m.find(':')));
    EXPECT_EQ(m, std::to_string(p) + ":" + std::to_string(next[p]));
    ++next[p];
  }
}

TEST_P(StreamContractTest, StreamSeqMustIncrease) {
  open();
  create("s");
  StreamAppend a;
  a.messages = {"a"};
  a.streamSeq = "09";
  EXPECT_EQ(append("s", a).outcome, StreamOutcome::kOk);
  a.streamSeq = "10";
  EXPECT_EQ(append("s", a).outcome, StreamOutcome::kOk);
  a.streamSeq = "10";
  EXPECT_EQ(append("s", a).outcome, StreamOutcome::kStreamSeqRegression);
  a.streamSeq = "2";  // "2" > "10" byte-wise: accepted
  EXPECT_EQ(append("s", a).outcome, StreamOutcome::kOk);
  a.streamSeq = "10";
  EXPECT_EQ(append("s", a).outcome, StreamOutcome::kStreamSeqRegression);
  EXPECT_EQ(info("s").lastStreamSeq, "2");
  EXPECT_EQ(contents("s").size(), 3u);
}

TEST_P(StreamContractTest, ClosingCommitsTheFinalAppendAndRefusesMore) {
  open();
  create("s", "text/plain", {"first"});
  StreamAppend fin;
  fin.messages = {"final"};
  fin.close = true;
  fin.producer = ProducerClaim{"p", 0, 0};
  StreamResult closed = append("s", fin);
  EXPECT_EQ(closed.outcome, StreamOutcome::kOk);
  EXPECT_TRUE(closed.closed);
  EXPECT_TRUE(info("s").closed);
  // A retry of the closing append is a duplicate, not a refusal.
  EXPECT_EQ(append("s", fin).outcome, StreamOutcome::kDuplicate);
  StreamResult more = append("s", Strings{"more"});
  EXPECT_EQ(more.outcome, StreamOutcome::kClosed);
  EXPECT_TRUE(more.closed);
  EXPECT_EQ(more.tailId, closed.tailId);
  // Closing again with nothing to add is idempotent, whatever its type.
  StreamAppend closeOnly;
  closeOnly.close = true;
  closeOnly.contentType = "application/json";
  EXPECT_EQ(append("s", closeOnly).outcome, StreamOutcome::kOk);
  EXPECT_EQ(appendAs("s", "p", 0, 1, "next seq").outcome, StreamOutcome::kClosed);
  EXPECT_EQ(contents("s"), Strings({"first", "final"}));
}

TEST_P(StreamContractTest, AFencedProducerHearsSoEvenWhenClosed) {
  open();
  create("s");
  appendAs("s", "p", 3, 0, "a");
  StreamAppend closeOnly;
  closeOnly.close = true;
  append("s", closeOnly);
  StreamResult zombie = appendAs("s", "p", 2, 0, "zombie");
  EXPECT_EQ(zombie.outcome, StreamOutcome::kStaleEpoch);
  EXPECT_EQ(zombie.producerEpoch, 3);
}

TEST_P(StreamContractTest, CreateClosed) {
  open();
  StreamConfig c;
  c.contentType = "text/plain";
  StreamAppend a;
  a.contentType = c.contentType;
  a.messages = {"only"};
  a.close = true;
  StreamResult r;
  ASSERT_TRUE(broker_->createStream("s", c, a, &r).ok());
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(info("s").closed);
  EXPECT_EQ(contents("s"), Strings({"only"}));
  EXPECT_EQ(append("s", Strings{"no"}).outcome, StreamOutcome::kClosed);
}

TEST_P(StreamContractTest, DeleteForgetsTheStreamButNeverReusesItsIds) {
  open();
  create("s", "text/plain", {"old1", "old2"});
  appendAs("s", "p", 0, 0, "old3");
  std::string oldTail = info("s").tailId;
  StreamResult d;
  ASSERT_TRUE(broker_->deleteStream("s", &d).ok());
  EXPECT_EQ(d.outcome, StreamOutcome::kOk);
  EXPECT_FALSE(exists("s"));
  EXPECT_EQ(append("s", Strings{"x"}).outcome, StreamOutcome::kNotFound);
  ASSERT_TRUE(broker_->deleteStream("s", &d).ok());
  EXPECT_EQ(d.outcome, StreamOutcome::kNotFound);

  StreamResult again = create("s", "application/json", {"1"});
  EXPECT_EQ(again.outcome, StreamOutcome::kOk);  // a new stream, any config
  StreamInfo i = info("s");
  EXPECT_EQ(i.startId, oldTail);
  ASSERT_EQ(again.stored.size(), 1u);
  auto old = MessageId::parse(oldTail);
  ASSERT_TRUE(old.has_value());
  EXPECT_LT(*old, again.stored[0]->id);
  EXPECT_EQ(contents("s"), Strings({"1"}));
  // The producer's state went with the old stream.
  StreamAppend a;
  a.contentType = "application/json";
  a.messages = {"2"};
  a.producer = ProducerClaim{"p", 0, 0};
  EXPECT_EQ(append("s", a).outcome, StreamOutcome::kOk);
  // A cursor into the deleted history is told so.
  EXPECT_TRUE(read("s", MessageId{old->epoch, 1, 0}.toString()).reset);
}

TEST_P(StreamClockTest, TtlIsAnIdleTimeoutThatAppendsAndReadsRestart) {
  StreamConfig c;
  c.contentType = "text/plain";
  c.ttlSeconds = 10;
  StreamResult r;
  ASSERT_TRUE(broker_->createStream("s", c, StreamAppend(), &r).ok());
  int64_t t0 = clock_->nowMs();
  clock_->set(t0 + 9000);
  EXPECT_EQ(append("s", Strings{"a"}).outcome, StreamOutcome::kOk);
  clock_->set(t0 + 18000);
  ASSERT_TRUE(broker_->touchStream("s").ok());
  clock_->set(t0 + 27999);
  EXPECT_TRUE(exists("s"));  // looking does not restart it
  clock_->set(t0 + 28000);
  EXPECT_FALSE(exists("s"));
  EXPECT_EQ(append("s", Strings{"late"}).outcome, StreamOutcome::kNotFound);
  ASSERT_TRUE(broker_->createStream("s", c, StreamAppend(), &r).ok());
  EXPECT_EQ(r.outcome, StreamOutcome::kOk);  // expired: created anew
}

TEST_P(StreamClockTest, ExpiresAtIsAbsolute) {
  int64_t t0 = clock_->nowMs();
  StreamConfig c;
  c.contentType = "text/plain";
  c.expiresAtMs = t0 + 5000;
  StreamResult r;
  ASSERT_TRUE(broker_->createStream("s", c, StreamAppend(), &r).ok());
  clock_->set(t0 + 4000);
  EXPECT_EQ(append("s", Strings{"a"}).outcome, StreamOutcome::kOk);
  ASSERT_TRUE(broker_->touchStream("s").ok());
  EXPECT_EQ(info("s").config.expiresAtMs, t0 + 5000);
  clock_->set(t0 + 5000);
  EXPECT_FALSE(exists("s"));
}

}  // namespace rtdemo
