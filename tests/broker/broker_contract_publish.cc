// The Broker contract's asynchronous and batch publishing cases (see
// broker_contract.h and the top of storage/broker.h): a completion is called
// exactly once, a channel's completions follow its ids, a batch is stored in
// order and all or nothing, live subscribers see a batch in order, and a
// publish whose caller went away is still stored and delivered once.
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/broker/broker_contract.h"
#include "tests/support/live_collector.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// Counts completions and lets the test wait for a number of them.
class Completions {
 public:
  void add(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (!s.ok()) failures_.push_back(s.toString());
    cv_.notify_all();
  }
  bool waitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 20s, [&] { return calls_ >= n; });
  }
  size_t calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t calls_ = 0;
  std::vector<std::string> failures_;
};

std::vector<PublishItem> items(const std::string& channel, int n,
                               const std::string& tag = "m") {
  std::vector<PublishItem> v;
  for (int i = 0; i < n; ++i) v.push_back({channel, "", tag + std::to_string(i)});
  return v;
}

}  // namespace

TEST_P(BrokerContractTest, AsyncCompletionIsCalledExactlyOnce) {
  open(100000);
  constexpr int kThreads = 4;
  constexpr int kEach = 100;
  // One counter per publish: a second call of any completion shows there.
  std::vector<std::atomic<int>> calls(kThreads * kEach);
  Completions done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        int k = t * kEach + i;
        broker_->publishAsync("c", "", std::to_string(k),
                              [&, k](const Status& s, const MessagePtr& m) {
                                if (s.ok() && (!m || m->data != std::to_string(k)))
                                  ADD_FAILURE() << "completion " << k << " got another message";
                                calls[k].fetch_add(1);
                                done.add(s);
                              });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(done.waitFor(kThreads * kEach));
  EXPECT_TRUE(done.failures().empty()) << done.failures().front();
  // Destroying the broker runs whatever it still held: still one call each.
  broker_.reset();
  EXPECT_EQ(done.calls(), size_t(kThreads * kEach));
  for (size_t k = 0; k < calls.size(); ++k) EXPECT_EQ(calls[k].load(), 1) << k;
}

// On memory a completion runs inline on its caller's thread, so only each
// caller's own completions are ordered; elsewhere, all of a channel's.
TEST_P(BrokerContractTest, CompletionsOfAChannelFollowItsIds) {
  open(100000);
  const bool inline_ = broker_->name() == "memory";
  constexpr int kThreads = 4;
  constexpr int kEach = 60;
  const std::vector<std::string> channels = {"a", "b", "c"};
  std::mutex mu;
  std::map<std::string, std::vector<MessageId>> order;  // completion order
  Completions done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string& ch = channels[(t + i) % channels.size()];
        std::string key = inline_ ? ch + "/" + std::to_string(t) : ch;
        auto record = [&, key](const Status& s, const std::vector<MessagePtr>& ms) {
          {
            std::lock_guard<std::mutex> lock(mu);
            for (const MessagePtr& m : ms) order[key].push_back(m->id);
          }
          done.add(s);
        };
        if (i % 5 == 0) {
          broker_->publishBatchAsync(items(ch, 3), record);
        } else {
          broker_->publishAsync(ch, "", "x", [record](const Status& s, const MessagePtr& m) {
            record(s, s.ok() ? std::vector<MessagePtr>{m} : std::vector<MessagePtr>{});
          });
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(done.waitFor(kThreads * kEach));
  ASSERT_TRUE(done.failures().empty()) << done.failures().front();
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [key, ids] : order) {
    for (size_t i = 1; i < ids.size(); ++i)
      EXPECT_TRUE(ids[i - 1] < ids[i]) << key << " completion " << i << ": "
                                       << ids[i - 1].toString() << " then " << ids[i].toString();
  }
  if (inline_) return;
  for (const std::string& ch : channels) {
    const std::vector<MessageId>& ids = order[ch];
    // And the completions saw exactly what history holds, in its order.
    HistoryRead h = read(ch, "", 100000);
    ASSERT_EQ(h.messages.size(), ids.size()) << ch;
    for (size_t i = 0; i < ids.size(); ++i)
      EXPECT_EQ(h.messages[i]->idText, ids[i].toString()) << ch << " " << i;
  }
}

TEST_P(BrokerContractTest, BatchIsStoredInOrderWithItsIds) {
  open(100000);
  publish("b", "before");
  std::vector<PublishItem> batch;
  for (int i = 0; i < 100; ++i)
    batch.push_back({i % 3 == 0 ? "a" : "b", i % 2 ? "ev" : "", "m" + std::to_string(i)});
  std::vector<MessagePtr> out;
  Status s = broker_->publishBatch(batch, &out);
  ASSERT_TRUE(s.ok()) << s.toString();
  ASSERT_EQ(out.size(), batch.size());
  std::map<std::string, std::vector<size_t>> byChannel;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i]->channel, batch[i].channel) << i;
    EXPECT_EQ(out[i]->event, batch[i].event) << i;
    EXPECT_EQ(out[i]->data, batch[i].data) << i;
    byChannel[batch[i].channel].push_back(i);
  }
  for (const auto& [ch, idx] : byChannel) {
    HistoryRead h = read(ch, "", 100000);
    size_t skip = ch == "b" ? 1 : 0;  // "before"
    ASSERT_EQ(h.messages.size(), idx.size() + skip) << ch;
    for (size_t k = 0; k < idx.size(); ++k) {
      EXPECT_EQ(h.messages[k + skip]->idText, out[idx[k]]->idText) << ch << " " << k;
      EXPECT_EQ(h.messages[k + skip]->data, batch[idx[k]].data) << ch << " " << k;
    }
  }
  // A single publish afterwards follows the batch.
  std::string after = publish("a", "after");
  EXPECT_TRUE(out[byChannel["a"].back()]->id < *MessageId::parse(after));
}

TEST_P(BrokerContractTest, BatchWithOneInvalidElementStoresNothing) {
  openWith([](BrokerConfig* c) {
    c->batchMaxMessages = 10;
    c->batchMaxBytes = 10 * 100;
  });
  std::string lastA, lastB;
  ASSERT_TRUE(broker_->lastId("a", &lastA).ok());
  ASSERT_TRUE(broker_->lastId("b", &lastB).ok());
  struct Case {
    const char* what;
    std::vector<PublishItem> batch;
    const char* reason;
  };
  std::vector<PublishItem> emptyChannel = items("a", 5);
  emptyChannel[3].channel = "";
  std::vector<PublishItem> tooBig = items("a", 4);
  tooBig[2].data.assign(1000, 'x');
  std::vector<Case> cases = {
      {"an element without a channel", emptyChannel, "message 3"},
      {"more elements than the limit", items("b", 11), "at most 10"},
      {"more bytes than the limit", tooBig, "message 2"},
      {"nothing at all", {}, "empty"},
  };
  for (const Case& c : cases) {
    std::vector<MessagePtr> out;
    Status s = broker_->publishBatch(c.batch, &out);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.what << ": " << s.toString();
    EXPECT_NE(s.message().find(c.reason), std::string::npos) << c.what << ": " << s.toString();
    EXPECT_TRUE(out.empty()) << c.what;
  }
  EXPECT_TRUE(read("a", "").messages.empty());
  EXPECT_TRUE(read("b", "").messages.empty());
  std::string nowA, nowB;
  ASSERT_TRUE(broker_->lastId("a", &nowA).ok());
  ASSERT_TRUE(broker_->lastId("b", &nowB).ok());
  EXPECT_EQ(nowA, lastA);
  EXPECT_EQ(nowB, lastB);
  // The limit itself is allowed.
  std::vector<MessagePtr> out;
  EXPECT_TRUE(broker_->publishBatch(items("b", 10), &out).ok());
  EXPECT_EQ(out.size(), 10u);
}

TEST_P(BrokerContractTest, LiveSubscribersSeeABatchInOrder) {
  open(100000);
  Collector live;
  auto sub = broker_->subscribe("c", live.callback());
  std::vector<PublishItem> batch;
  for (int i = 0; i < 50; ++i) {
    batch.push_back({"c", "", std::to_string(i)});
    batch.push_back({"other", "", "noise"});
  }
  std::vector<MessagePtr> out;
  ASSERT_TRUE(broker_->publishBatch(batch, &out).ok());
  std::string after = publish("c", "after");
  ASSERT_TRUE(live.waitFor(51));
  auto got = live.messages();
  ASSERT_EQ(got.size(), 51u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(got[i]->data, std::to_string(i)) << i;
    EXPECT_EQ(got[i]->idText, out[2 * i]->idText) << i;
  }
  EXPECT_EQ(got[50]->idText, after);
}

// "The caller went away": whoever waits for the answer (a connection, in the
// service) is destroyed before the completion runs. It holds only a
// weak_ptr to that owner, so the completion finds it gone; the message is
// still stored, and delivered live, exactly once.
TEST_P(BrokerContractTest, PublishWhoseCallerWentAwayIsStoredAndDeliveredOnce) {
  open(100000);
  Collector live;
  auto sub = broker_->subscribe("c", live.callback());
  struct Owner {
    std::string answer;
  };
  Completions done;
  std::atomic<int> ownerSeen{0};
  {
    auto owner = std::make_shared<Owner>();
    std::weak_ptr<Owner> weak = owner;
    broker_->publishAsync("c", "", "orphan", [&, weak](const Status& s, const MessagePtr& m) {
      if (auto o = weak.lock()) {
        o->answer = m ? m->idText : "";
        ownerSeen.fetch_add(1);
      }
      done.add(s);
    });
    owner.reset();  // gone, perhaps before the commit
  }
  ASSERT_TRUE(done.waitFor(1));
  EXPECT_TRUE(done.failures().empty()) << done.failures().front();
  // A later publish is the sentinel: once it is delivered, the orphan's one
  // delivery (and any duplicate) came before it.
  std::string sentinel = publish("c", "sentinel");
  ASSERT_TRUE(live.waitFor(2));
  auto got = live.messages();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->data, "orphan");
  EXPECT_EQ(got[1]->idText, sentinel);
  HistoryRead h = read("c", "");
  ASSERT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages[0]->data, "orphan");
  EXPECT_EQ(done.calls(), 1u);
  // Whether the completion ran before the owner went (always, on memory,
  // which completes inline) or after, it saw it at most once.
  EXPECT_LE(ownerSeen.load(), 1);
}

TEST_P(BrokerContractTest, ACompletionMayPublishAgain) {
  // A chain of publishes, each started from the previous one's completion
  // (on the backend's thread): what the crash test's publishers do.
  open(100000);
  Completions done;
  std::function<void(int)> next = [&](int i) {
    broker_->publishAsync("chain", "", std::to_string(i),
                          [&, i](const Status& s, const MessagePtr&) {
                            done.add(s);
                            if (s.ok() && i < 49) next(i + 1);
                          });
  };
  next(0);
  ASSERT_TRUE(done.waitFor(50));
  EXPECT_TRUE(done.failures().empty()) << done.failures().front();
  HistoryRead h = read("chain", "");
  ASSERT_EQ(h.messages.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(h.messages[i]->data, std::to_string(i));
}

}  // namespace rtdemo
