// The hub driven over socketpairs, with a real memory Broker behind it and
// faults injected where an integration test cannot reach: a gate that
// throws, a history read that fails while the client can no longer be
// written to, pages read for a subscription that was replaced.
//
// Each test owns a Hub with one loop, so that "the loop survived" is a
// statement about the loop that served the faulty connection.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>

#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/StreamSocketImpl.h"
#include "service/hub/hub.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// A Broker that forwards to a real memory backend, and can hold history
// reads until the test releases them, then fail them.
class FaultyBroker : public Broker {
 public:
  FaultyBroker() {
    BrokerConfig config;
    config.backend = "memory";
    Status s;
    inner_ = openBroker(config, &s);
  }
  std::string name() const override { return inner_->name(); }
  std::string epoch() const override { return inner_->epoch(); }
  Status publish(const std::string& c, const std::string& e, const std::string& d,
                 MessagePtr* out) override {
    return inner_->publish(c, e, d, out);
  }
  Status readAfter(const std::string& c, const std::string& cursor, size_t limit,
                   HistoryRead* out) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++reads_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !holdReads_; });
    if (failReads_) return Status::Unavailable("injected read failure");
    lock.unlock();
    return inner_->readAfter(c, cursor, limit, out);
  }
  Status lastId(const std::string& c, std::string* out) override { return inner_->lastId(c, out); }
  std::unique_ptr<Subscription> subscribe(const std::string& c, LiveCallback cb) override {
    return inner_->subscribe(c, std::move(cb));
  }
  Status health() override { return inner_->health(); }

  void holdReads(bool hold, bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    holdReads_ = hold;
    failReads_ = fail;
    cv_.notify_all();
  }
  bool waitForReads(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return reads_ >= n; });
  }

 private:
  std::unique_ptr<Broker> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool holdReads_ = false;
  bool failReads_ = false;
  int reads_ = 0;
};

// A gate whose subscribe check throws for one channel.
class ThrowingGate : public WsGate {
 public:
  Answer maySubscribe(const std::string& channel) override {
    if (channel == "boom") throw std::runtime_error("gate exploded");
    return {};
  }
  Answer mayPublish(const std::string&) override { return {}; }
};

// The test's end of a socketpair, reading the server's WebSocket frames.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}
  ~Peer() { ::close(fd_); }
  int fd() const { return fd_; }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void sendText(const std::string& text) { send(encodeClientFrame(0x81, text)); }
  // The payload of the next text frame, "" on timeout, "<closed>" on EOF.
  std::string nextText(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (buf_.size() >= 2) {
        uint8_t op = buf_[0] & 0x0F;
        size_t len = static_cast<uint8_t>(buf_[1]) & 0x7F, header = 2;
        if (len == 126 && buf_.size() >= 4) {
          len = (size_t(uint8_t(buf_[2])) << 8) | uint8_t(buf_[3]);
          header = 4;
        }
        if (len < 126 || header == 4) {
          if (buf_.size() >= header + len) {
            std::string payload = buf_.substr(header, len);
            buf_.erase(0, header + len);
            if (op == 0x1) return payload;
            if (op == 0x8) return "<close>";
            continue;  // pings
          }
        }
      }
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) return "";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return "";
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return "<closed>";
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  // True once the server closed the connection (frames before it skipped).
  bool waitClosed() {
    for (;;) {
      std::string t = nextText();
      if (t.empty()) return false;
      if (t == "<closed>") return true;
    }
  }
  // The next text frame whose JSON type is `type`.
  std::string nextOfType(const std::string& type) {
    for (;;) {
      std::string t = nextText();
      if (t.empty() || t == "<closed>" || t == "<close>") return t;
      if (t.find("\"type\":\"" + type + "\"") != std::string::npos) return t;
    }
  }

 private:
  int fd_;
  std::string buf_;
};

class HubLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HubOptions options;
    options.loops = 1;
    options.heartbeatSeconds = 1;
    options.batchSends = false;
    hub_ = std::make_unique<Hub>(&broker_, options);
    hub_->start();
  }
  void TearDown() override { hub_->stop(); }

  // A WebSocket whose handshake is done: the hub gets one end.
  std::unique_ptr<Peer> addWebSocket(std::unique_ptr<WsGate> gate = nullptr) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(sv[0]));
    hub_->addWebSocket(socket, "", "", std::move(gate));
    return std::make_unique<Peer>(sv[1]);
  }

  FaultyBroker broker_;
  std::unique_ptr<Hub> hub_;
};

TEST_F(HubLoopTest, AnExceptionFromOneConnectionClosesOnlyIt) {
  auto good = addWebSocket();
  auto bad = addWebSocket(std::make_unique<ThrowingGate>());
  bad->sendText(R"({"type":"subscribe","channel":"boom"})");
  EXPECT_TRUE(bad->waitClosed());
  EXPECT_EQ(hub_->stats().connErrors.load(), 1u);
  // The loop that served it goes on serving the other connection.
  good->sendText(R"({"type":"subscribe","channel":"fine","ref":"1"})");
  EXPECT_NE(good->nextOfType("subscribed").find("\"ref\":\"1\""), std::string::npos);
  MessagePtr m;
  ASSERT_TRUE(broker_.publish("fine", "", "still here", &m).ok());
  EXPECT_NE(good->nextOfType("message").find("still here"), std::string::npos);
}

TEST_F(HubLoopTest, AFailedReplayToAnUnwritablePeerIsHandledOnce) {
  // The history read fails while the client can no longer be written to:
  // the error frame's write closes the connection, and nothing may touch
  // it afterwards (under ASan, the old code was a heap-use-after-free, and
  // a second feed release could stop another client's live delivery).
  auto other = addWebSocket();
  other->sendText(R"({"type":"subscribe","channel":"c","ref":"o"})");
  ASSERT_NE(other->nextOfType("subscribed"), "");
  broker_.holdReads(true, true);
  auto dying = addWebSocket();
  dying->sendText(R"({"type":"subscribe","channel":"c","last_id":"x"})");
  ASSERT_TRUE(broker_.waitForReads(2));
  ASSERT_EQ(::shutdown(dying->fd(), SHUT_RD), 0);
  broker_.holdReads(false, true);
  // The channel's feed is still there for the other client.
  broker_.holdReads(false, false);
  MessagePtr m;
  ASSERT_TRUE(broker_.publish("c", "", "for the other", &m).ok());
  EXPECT_NE(other->nextOfType("message").find("for the other"), std::string::npos);
}

TEST_F(HubLoopTest, AReplayForAReplacedSubscriptionIsIgnored) {
  MessagePtr ids[5];
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(broker_.publish("r", "", std::to_string(i), &ids[i]).ok());
  auto ws = addWebSocket();
  // Subscribe after the 4th, unsubscribe and subscribe after the 1st, in
  // one write: the first replay must not land on the second subscription.
  broker_.holdReads(true, false);
  ws->send(encodeClientFrame(0x81, R"({"type":"subscribe","channel":"r","last_id":")" +
                                       ids[3]->idText + R"(","ref":"a"})") +
           encodeClientFrame(0x81, R"({"type":"unsubscribe","channel":"r"})") +
           encodeClientFrame(0x81, R"({"type":"subscribe","channel":"r","last_id":")" +
                                       ids[0]->idText + R"(","ref":"b"})"));
  ASSERT_TRUE(broker_.waitForReads(2));
  broker_.holdReads(false, false);
  std::string subscribed = ws->nextOfType("subscribed");
  EXPECT_NE(subscribed.find("\"ref\":\"b\""), std::string::npos) << subscribed;
  for (int i = 1; i < 5; ++i) {
    std::string msg = ws->nextOfType("message");
    EXPECT_NE(msg.find("\"id\":\"" + ids[i]->idText + "\""), std::string::npos)
        << "message " << i << ": " << msg;
  }
}

}  // namespace
}  // namespace rtdemo
