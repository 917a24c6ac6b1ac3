// Implementation of ChaosTest (see chaos_harness.h).
#include "tests/support/chaos_harness.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>

#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "tests/support/http_client.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kChannels = 4;
constexpr int kHttpPublishers = 48;
constexpr int kWsPublishers = 16;
constexpr int kPublishers = kHttpPublishers + kWsPublishers;
constexpr int kSubscribersPerChannel = 6;
constexpr int kAcksPerPhase = 3000;  // acknowledgements between two events
constexpr auto kPublishPace = 40ms;  // per publisher: at most 25 messages/s
constexpr auto kRetryPause = 20ms;   // before trying a server that is down again

std::string channelName(int c) { return "chaos" + std::to_string(c); }

Poco::JSON::Object::Ptr parseObject(const std::string& text) {
  try {
    Poco::JSON::Parser parser;
    return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

}  // namespace

// What one subscriber received. Written by its thread, read by the test.
class ChaosTally {
 public:
  explicit ChaosTally(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  void message(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    ids_.push_back(id);
  }
  void reset(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    resets_.push_back(what);
  }
  void reconnected() { reconnects_++; }
  // A live-only subscriber (no cursor yet) was told `subscribed` at `at`.
  void subscribedLive(Clock::time_point at) {
    std::lock_guard<std::mutex> lock(mu_);
    liveSince_ = at;
  }
  std::optional<Clock::time_point> liveSince() const {
    std::lock_guard<std::mutex> lock(mu_);
    return liveSince_;
  }
  std::string lastId() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_.empty() ? "" : ids_.back();
  }
  std::vector<std::string> ids() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  std::vector<std::string> resets() const {
    std::lock_guard<std::mutex> lock(mu_);
    return resets_;
  }
  int reconnects() const { return reconnects_; }

 private:
  const std::string name_;
  mutable std::mutex mu_;
  std::vector<std::string> ids_;     // guarded by mu_
  std::vector<std::string> resets_;  // guarded by mu_
  std::optional<Clock::time_point> liveSince_;  // guarded by mu_
  std::atomic<int> reconnects_{0};
};

ChaosTest::ChaosTest() = default;
ChaosTest::~ChaosTest() = default;

void ChaosTest::TearDown() {
  stopPublishers();
  stopSubscribers();
}

std::vector<std::string> ChaosTest::commonArgs() {
  return {"-D", "rtdemo.history.size=1000000",
          "-D", "rtdemo.heartbeat.seconds=1",
          "-D", "rtdemo.poll.timeout.seconds=2",
          "-D", "rtdemo.poll.max-batch=1000",
          "-D", "rtdemo.retry.ms=100"};
}

// The first start is on a port the OS picks, later ones on the same port. A
// restart can find the port taken for a moment by another process's
// outgoing connection while the server was down; that is the one failure
// retried.
void ChaosTest::startServer() {
  for (int attempt = 1;; ++attempt) {
    server_ = std::make_unique<ServerProcess>(args_, port_, /*mustStart=*/false);
    if (server_->ready()) break;
    bool portTaken = server_->stderrText().find("cannot listen") != std::string::npos;
    if (!portTaken || attempt == 5) {
      ADD_FAILURE() << "rtdemo did not start: " << server_->stderrText();
      return;
    }
    std::this_thread::sleep_for(100ms);
  }
  port_ = server_->port();
}

void ChaosTest::startClients(const std::string& startCursor) {
  for (int c = 0; c < kChannels; ++c) {
    for (int i = 0; i < 2; ++i) {
      subscribe("sse", c, i, startCursor, &ChaosTest::sseSubscriber);
      subscribe(i == 0 ? "poll (kept alive)" : "poll (new connections)", c, i, startCursor,
                &ChaosTest::pollSubscriber);
      subscribe("ws", c, i, startCursor, &ChaosTest::wsSubscriber);
    }
  }
  sent_.resize(kPublishers);
  for (int p = 0; p < kPublishers; ++p) {
    publishers_.emplace_back([this, p] {
      if (p < kHttpPublishers)
        httpPublisher(p);
      else
        wsPublisher(p);
    });
  }
}

void ChaosTest::subscribe(const std::string& kind, int c, int i, const std::string& cursor,
                          SubscriberFn fn) {
  auto tally = std::make_unique<ChaosTally>(kind + " #" + std::to_string(i) + " on " + channelName(c));
  ChaosTally* t = tally.get();
  tallies_[c].push_back(std::move(tally));
  bool keepAlive = kind == "poll (kept alive)";
  subscribers_.emplace_back([this, fn, t, c, cursor, keepAlive] {
    (this->*fn)(t, channelName(c), cursor, keepAlive);
  });
}

// One more WebSocket subscriber per channel, live-only at first.
void ChaosTest::joinLiveOnly(int event) {
  for (int c = 0; c < kChannels; ++c)
    subscribe("ws (live-only, joined after event " + std::to_string(event) + ")", c, 0, "",
              &ChaosTest::wsSubscriber);
}

// ---------------------------------------------------------------------------
// Publishers: one message at a time; a failed one is not sent again.

void ChaosTest::record(int p, const Sent& s) {
  if (!s.ackedId.empty()) acks_++;
  std::lock_guard<std::mutex> lock(sentMu_);
  sent_[p].push_back(s);
}

void ChaosTest::httpPublisher(int p) {
  const std::string channel = channelName(p % kChannels);
  for (int n = 0; !stopPublishing_; ++n) {
    Sent s{"p" + std::to_string(p) + "-" + std::to_string(n), "", Clock::now()};
    HttpResponse r = httpRequest(port_, "POST", "/send", "channel=" + channel + "&data=" + s.data,
                                 "application/x-www-form-urlencoded", {}, 15s);
    if (r.status == 201)
      s.ackedId = jsonField(r.body, "id");
    else if (r.status != 0 && r.status != 503)  // 0: killed mid-request; 503: backend away
      ADD_FAILURE() << "POST /send answered " << r.status << ": " << r.body;
    record(p, s);
    std::this_thread::sleep_for(r.status == 201 ? kPublishPace : kRetryPause);
  }
}

void ChaosTest::wsPublisher(int p) {
  const std::string channel = channelName(p % kChannels);
  std::unique_ptr<WsTestClient> ws;
  for (int n = 0; !stopPublishing_;) {
    if (!ws || !ws->connected()) {
      ws = std::make_unique<WsTestClient>(port_, "/ws");
      if (ws->status() != 101) {
        ws.reset();
        std::this_thread::sleep_for(kRetryPause);
        continue;
      }
    }
    Sent s{"p" + std::to_string(p) + "-" + std::to_string(n), "", Clock::now()};
    const std::string ref = std::to_string(n++);
    ws->sendText(R"({"type":"publish","channel":")" + channel + R"(","data":")" + s.data +
                 R"(","ref":")" + ref + "\"}");
    // The answer to this publish is an ack, or an error (503 while the
    // backend is away); pings are answered, other frames skipped.
    bool answered = false;
    auto deadline = Clock::now() + 15s;
    while (!answered && ws->connected() && Clock::now() < deadline) {
      auto f = ws->next(1s);
      if (!f) continue;
      if (f->opcode == 0x9) ws->sendRaw(encodeClientFrame(0x8A, f->payload));
      if (f->opcode != 0x1) continue;
      auto o = parseObject(f->payload);
      if (!o || o->optValue<std::string>("ref", "") != ref) continue;
      answered = true;
      if (o->optValue<std::string>("type", "") == "ack")
        s.ackedId = o->optValue<std::string>("id", "");
      else if (o->optValue<int>("status", 0) != 503)
        ADD_FAILURE() << "publish answered " << f->payload;
    }
    if (!answered) ws.reset();  // closed, or no answer: start over
    record(p, s);
    std::this_thread::sleep_for(s.ackedId.empty() ? kRetryPause : kPublishPace);
  }
}

// ---------------------------------------------------------------------------
// Subscribers: reconnect and resume from what they last saw, until stopped.

void ChaosTest::sseSubscriber(ChaosTally* t, const std::string& channel, std::string cursor, bool) {
  while (!stopSubscribing_) {
    SseClient sse(port_, "/events?channel=" + channel, cursor);
    if (sse.status() != 200) {
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    while (!stopSubscribing_) {
      auto e = sse.next(500ms);
      if (!e) {
        if (sse.closed()) break;
        continue;
      }
      if (e->type == "heartbeat") continue;
      // EventSource keeps the last id field it saw, the reset's included.
      if (!e->id.empty()) cursor = e->id;
      if (e->type == "reset")
        t->reset(e->data);
      else
        t->message(e->id);
    }
    t->reconnected();
  }
}

void ChaosTest::pollSubscriber(ChaosTally* t, const std::string& channel, std::string cursor,
                               bool keepAlive) {
  int fd = -1;
  std::string pending;
  while (!stopSubscribing_) {
    const std::string target = "/poll?channel=" + channel + "&since=" + urlEncode(cursor);
    HttpResponse r;
    if (keepAlive) {
      if (fd < 0) {
        fd = connectLoopback(port_);
        pending.clear();
      }
      if (fd >= 0 && sendGet(fd, target)) r = readResponseOn(fd, &pending, 15s);
      if (r.status != 200 && fd >= 0) {
        ::close(fd);
        fd = -1;
      }
    } else {
      r = httpGet(port_, target, {}, 15s);
    }
    if (r.status != 200) {
      if (r.status != 0 && r.status != 503)
        ADD_FAILURE() << t->name() << ": poll answered " << r.status << ": " << r.body;
      t->reconnected();
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    auto o = parseObject(r.body);
    if (!o) {
      ADD_FAILURE() << t->name() << ": poll answer is not JSON: " << r.body;
      break;
    }
    if (o->optValue<bool>("reset", false)) t->reset(r.body.substr(0, 200));
    auto messages = o->getArray("messages");
    for (size_t i = 0; messages && i < messages->size(); ++i)
      t->message(messages->getObject(static_cast<unsigned>(i))->getValue<std::string>("id"));
    cursor = o->getValue<std::string>("last_id");
  }
  if (fd >= 0) ::close(fd);
}

void ChaosTest::wsSubscriber(ChaosTally* t, const std::string& channel, std::string cursor, bool) {
  while (!stopSubscribing_) {
    // No cursor yet: a live-only subscribe, as a new tab makes.
    WsTestClient ws(port_, "/ws?channel=" + channel +
                               (cursor.empty() ? "" : "&last_id=" + urlEncode(cursor)));
    if (ws.status() != 101) {
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    while (!stopSubscribing_ && ws.connected()) {
      auto f = ws.next(500ms);
      if (!f) continue;
      if (f->opcode == 0x9) ws.sendRaw(encodeClientFrame(0x8A, f->payload));
      if (f->opcode == 0x8) break;
      if (f->opcode != 0x1) continue;
      auto o = parseObject(f->payload);
      if (!o) {
        ADD_FAILURE() << t->name() << ": not JSON: " << f->payload;
        continue;
      }
      std::string type = o->optValue<std::string>("type", "");
      if (type == "subscribed" && cursor.empty()) {
        t->subscribedLive(Clock::now());
      } else if (type == "message") {
        cursor = o->getValue<std::string>("id");
        t->message(cursor);
      } else if (type == "reset") {
        t->reset(f->payload);
      } else if (type == "error") {
        ADD_FAILURE() << t->name() << ": " << f->payload;
      }
    }
    t->reconnected();
  }
}

// ---------------------------------------------------------------------------
// The run

void ChaosTest::stopPublishers() {
  stopPublishing_ = true;
  for (auto& t : publishers_) t.join();
  publishers_.clear();
}

void ChaosTest::stopSubscribers() {
  stopSubscribing_ = true;
  for (auto& t : subscribers_) t.join();
  subscribers_.clear();
}

bool ChaosTest::waitForAcks(long n) {
  long target = acks_.load() + n;
  return waitUntil([&] { return acks_.load() >= target; }, 120s);
}

std::vector<std::string> ChaosTest::history(const std::string& channel, const std::string& start,
                                            std::map<std::string, std::string>* dataById) {
  std::vector<std::string> ids;
  std::string cursor = start;
  for (;;) {
    HttpResponse r =
        httpGet(port_, "/poll?timeout=0&channel=" + channel + "&since=" + urlEncode(cursor));
    auto o = parseObject(r.body);
    if (r.status != 200 || !o) {
      ADD_FAILURE() << "history read: " << r.status << " " << r.body;
      return ids;
    }
    EXPECT_FALSE(o->optValue<bool>("reset", false)) << "history read from " << cursor;
    auto messages = o->getArray("messages");
    if (!messages || messages->size() == 0) return ids;
    for (size_t i = 0; i < messages->size(); ++i) {
      auto m = messages->getObject(static_cast<unsigned>(i));
      ids.push_back(m->getValue<std::string>("id"));
      (*dataById)[ids.back()] = m->getValue<std::string>("data");
    }
    cursor = o->getValue<std::string>("last_id");
  }
}

// The history against what publishers were told, then every subscriber
// against the history.
void ChaosTest::checkChannel(int c, const std::string& start, long* acked, long* unknown) {
  const std::string channel = channelName(c);
  std::map<std::string, std::string> dataById;
  std::vector<std::string> ids = history(channel, start, &dataById);
  ASSERT_FALSE(ids.empty()) << channel;
  std::map<std::string, std::string> idByData;
  for (auto& [id, data] : dataById) idByData[data] = id;
  ASSERT_EQ(idByData.size(), ids.size()) << channel << ": a message stored twice";
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < ids.size(); ++i) position[ids[i]] = i;

  for (int p = c; p < kPublishers; p += kChannels) {
    long lastPos = -1;
    for (const Sent& s : sent_[p]) {
      auto it = idByData.find(s.data);
      if (!s.ackedId.empty()) {
        ++*acked;
        ASSERT_TRUE(it != idByData.end()) << s.data << " was acknowledged as " << s.ackedId
                                          << " but is not in " << channel << "'s history";
        EXPECT_EQ(it->second, s.ackedId) << s.data;
      } else {
        ++*unknown;
      }
      if (it == idByData.end()) continue;
      long pos = static_cast<long>(position[it->second]);
      EXPECT_GT(pos, lastPos) << s.data << " is stored before an earlier message of its publisher";
      lastPos = pos;
    }
  }

  for (auto& t : tallies_[c]) {
    EXPECT_TRUE(waitUntil([&] { return t->lastId() == ids.back(); }, 60s))
        << t->name() << " stopped at " << t->lastId() << ", the history ends at " << ids.back();
  }
  for (auto& t : tallies_[c]) {
    std::vector<std::string> got = t->ids();
    std::vector<std::string> resets = t->resets();
    EXPECT_TRUE(resets.empty()) << t->name() << " got " << resets.size()
                                << " resets; the first: " << resets.front();
    // What it should hold: the whole history, or for a live-only joiner the
    // history from its first message on.
    std::vector<std::string> expected = ids;
    std::optional<Clock::time_point> liveSince = t->liveSince();
    if (liveSince) {
      ASSERT_FALSE(got.empty()) << t->name() << " received nothing";
      ASSERT_TRUE(position.count(got[0])) << t->name() << " received " << got[0]
                                          << ", which is not in the history";
      const size_t first = position[got[0]];
      expected.erase(expected.begin(), expected.begin() + static_cast<long>(first));
      for (int p = c; p < kPublishers; p += kChannels) {
        for (const Sent& s : sent_[p]) {
          if (s.ackedId.empty() || s.sentAt <= *liveSince) continue;
          ++liveChecks_;
          EXPECT_GE(position[s.ackedId], first)
              << t->name() << " missed " << s.data << " (" << s.ackedId
              << "), sent after its subscribe was answered";
        }
      }
    }
    size_t i = 0;
    while (i < got.size() && i < expected.size() && got[i] == expected[i]) ++i;
    auto describe = [&](const std::vector<std::string>& v) {
      return i < v.size() ? v[i] + " (" + dataById[v[i]] + ")" : std::string("nothing");
    };
    EXPECT_TRUE(i == got.size() && i == expected.size())
        << t->name() << " received " << got.size() << " messages, " << expected.size()
        << " expected; they differ first at #" << i << ": received " << describe(got)
        << ", the history has " << describe(expected);
  }
}

void ChaosTest::run(const std::vector<std::string>& events) {
  startServer();
  ASSERT_TRUE(server_ && server_->ready());
  HttpResponse first = httpGet(port_, "/poll?timeout=0&channel=" + channelName(0));
  const std::string start = jsonField(first.body, "last_id");
  ASSERT_NE(start.find('-'), std::string::npos) << first.body;
  ASSERT_EQ(start.substr(start.find('-')), "-0") << "a fresh store starts at <epoch>-0";
  startClients(start);

  int eventsDone = 0;
  for (const std::string& event : events) {
    ASSERT_TRUE(waitForAcks(kAcksPerPhase)) << acks_.load() << " acknowledged before " << event;
    if (event == "rtdemo") {
      ASSERT_EQ(server_->stop(SIGKILL), 128 + SIGKILL);
      startServer();
      ASSERT_TRUE(server_->ready());
    } else {
      ASSERT_TRUE(redis_ && redis_->stop(SIGKILL));
      ASSERT_TRUE(redis_->start());
    }
    joinLiveOnly(++eventsDone);
  }
  ASSERT_TRUE(waitForAcks(kAcksPerPhase)) << "after the last event";
  stopPublishers();

  long acked = 0, unknown = 0;
  for (int c = 0; c < kChannels; ++c) checkChannel(c, start, &acked, &unknown);
  stopSubscribers();

  int reconnects = 0;
  for (auto& [c, list] : tallies_)
    for (auto& t : list) reconnects += t->reconnects();
  std::cout << "chaos: " << acked << " acknowledged, " << unknown << " failed (outcome unknown), "
            << events.size() << " restarts, " << reconnects << " subscriber reconnects, "
            << liveChecks_ << " deliveries to live-only joiners checked\n";
  int kills = static_cast<int>(std::count(events.begin(), events.end(), "rtdemo"));
  EXPECT_GE(reconnects, kChannels * kSubscribersPerChannel * kills)
      << "every subscriber loses its server at every kill";
}

}  // namespace rtdemo
