// The connection states of a hub loop that depend on time (connection.h):
// an SSE stream's heartbeat, a parked poll's timeout, an idle keep-alive
// poll's close, a silent WebSocket's drop and a token's expiry. Each is
// driven over socketpairs with a real memory Broker and a clock the test
// moves (hub_clock.h), so a 25 s timeout takes no time and "not yet" is
// as checkable as "now".
//
// "Not yet" is checked after settle(): two messages sent through a second
// stream on the same loop and read back. The loop handles the second one
// in a turn that starts after the turn that saw the clock move has looked
// at every deadline, so a connection that is still quiet then was left
// alone by that turn, not merely not reached yet.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/StreamSocketImpl.h"
#include "service/hub/hub.h"
#include "tests/support/socket_reader.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// A HubClock that moves only when the test says. Both clocks move together.
class ManualClock : public HubClock {
 public:
  int64_t steadyMs() const override { return steady_.load(); }
  int64_t wallMs() const override { return wall_.load(); }
  void advance(int64_t ms) {
    steady_ += ms;
    wall_ += ms;
  }

 private:
  std::atomic<int64_t> steady_{1'000'000};
  std::atomic<int64_t> wall_{1'800'000'000'000};  // 2027-01-15, in ms
};

using RawPeer = SocketReader;  // the test's end of a socketpair

class HubStatesTest : public ::testing::Test {
 protected:
  static constexpr int kHeartbeatSeconds = 15;

  void SetUp() override {
    BrokerConfig config;
    config.backend = "memory";
    Status s;
    broker_ = openBroker(config, &s);
    ASSERT_TRUE(broker_) << s.message();
    HubOptions options;
    options.loops = 1;  // settle() must go through the loop under test
    options.heartbeatSeconds = kHeartbeatSeconds;
    options.keepAliveIdleMs = 15000;
    options.batchSends = false;
    options.handBack = [](const Poco::Net::StreamSocket&) {};
    options.clock = clock_;
    hub_ = std::make_unique<Hub>(broker_.get(), options);
    hub_->start();
    sync_ = addStream("sync", publish("sync", "first"));
  }
  void TearDown() override { hub_->stop(); }

  std::string publish(const std::string& channel, const std::string& data) {
    MessagePtr m;
    Status s = broker_->publish(channel, "", data, &m);
    EXPECT_TRUE(s.ok()) << s.message();
    return m ? m->idText : "";
  }

  std::pair<Poco::Net::StreamSocket, std::unique_ptr<RawPeer>> socketPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    return {Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(sv[0])),
            std::make_unique<RawPeer>(sv[1])};
  }

  // An SSE stream after `cursor`, live once a message published now arrives.
  std::unique_ptr<RawPeer> addStream(const std::string& channel, const std::string& cursor,
                                     std::optional<int64_t> tokenExpiresAt = std::nullopt) {
    auto [socket, peer] = socketPair();
    hub_->addStream(socket, channel, cursor, tokenExpiresAt);
    EXPECT_NE(readEvent(*peer, publish(channel, "live?")), "");
    return std::move(peer);
  }

  // Moves the clock and has the loop look at its deadlines.
  void advance(int64_t ms) {
    clock_->advance(ms);
    hub_->wake();
  }

  // Returns once the loop has finished the turn that saw the clock move
  // (see the top of this file).
  void settle() {
    for (int i = 0; i < 2; ++i)
      ASSERT_NE(readEvent(*sync_, publish("sync", "settle")), "");
  }

  // Reads an SSE stream through the whole event of message `id`.
  static std::string readEvent(RawPeer& peer, const std::string& id) {
    std::string upTo = peer.readThrough("id: " + id + "\n");
    return upTo.empty() ? "" : upTo + peer.readThrough("\n\n");
  }

  template <typename Pred>
  bool eventually(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<RawPeer> sync_;
};

TEST_F(HubStatesTest, AStreamGetsItsHeartbeatAtTheIntervalAndNotBefore) {
  auto stream = addStream("hb", publish("hb", "m0"));
  advance(kHeartbeatSeconds * 1000 - 100);
  settle();
  EXPECT_TRUE(stream->quiet());
  advance(100);
  // The heartbeat carries the loop's wall clock: the test's.
  std::string beat = stream->readThrough("\n\n");
  EXPECT_EQ(beat, "event: heartbeat\ndata: " + std::to_string(clock_->wallMs()) + "\n\n");
}

TEST_F(HubStatesTest, AParkedPollIsAnsweredEmptyAtItsTimeoutAndNotBefore) {
  const std::string cursor = publish("p", "m0");
  auto [socket, peer] = socketPair();
  hub_->addPoll(socket, "p", cursor, 25000, /*keepAlive=*/false, PollReuse{});
  ASSERT_TRUE(eventually([&] { return hub_->stats().pollsParked.load() == 1; }));
  advance(24900);
  settle();
  EXPECT_TRUE(peer->quiet());
  advance(100);
  std::string answer = peer->readThrough("}");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("\"messages\":[]"), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"last_id\":\"" + cursor + "\""), std::string::npos) << answer;
  // Without keep-alive the connection ends with its answer.
  EXPECT_TRUE(peer->waitForClose());
  EXPECT_EQ(hub_->stats().pollsParked.load(), 0);
}

TEST_F(HubStatesTest, AnIdleKeepAlivePollIsClosedAfterTheIdleTimeAndNotBefore) {
  const std::string cursor = publish("k", "m0");
  auto [socket, peer] = socketPair();
  PollReuse reuse;
  reuse.allowed = true;
  hub_->addPoll(socket, "k", cursor, 25000, /*keepAlive=*/true, reuse);
  ASSERT_TRUE(eventually([&] { return hub_->stats().pollsParked.load() == 1; }));
  const std::string id = publish("k", "m1");
  EXPECT_NE(peer->readThrough("\"last_id\":\"" + id + "\"}"), "");
  ASSERT_TRUE(eventually([&] { return hub_->stats().pollsIdle.load() == 1; }));
  advance(15000 - 100);
  settle();
  EXPECT_TRUE(peer->quiet());
  EXPECT_EQ(hub_->stats().pollsIdle.load(), 1);
  advance(100);
  EXPECT_TRUE(peer->waitForClose());
  EXPECT_EQ(hub_->stats().pollsIdle.load(), 0);
}

TEST_F(HubStatesTest, ASilentWebSocketIsDroppedAfterThreeHeartbeatsAndATalkingOneIsNot) {
  auto open = [&](const char* ref) {
    auto [socket, peer] = socketPair();
    hub_->addWebSocket(socket, "", "", nullptr);
    EXPECT_TRUE(peer->send(encodeClientFrame(
        0x81, std::string(R"({"type":"subscribe","channel":"w","ref":")") + ref + "\"}")));
    EXPECT_NE(peer->readThrough(std::string("\"ref\":\"") + ref + "\""), "");
    return std::move(peer);
  };
  auto silent = open("s");
  auto talking = open("t");
  // Three heartbeats: each goes out with a ping, and the silent one is
  // still held through the third.
  for (int beat = 1; beat <= 3; ++beat) {
    advance(kHeartbeatSeconds * 1000);
    EXPECT_NE(silent->readThrough("rtdemo"), "") << "heartbeat " << beat;  // the ping
    EXPECT_NE(talking->readThrough("rtdemo"), "") << "heartbeat " << beat;
    EXPECT_TRUE(talking->send(encodeClientFrame(0x8A, "rtdemo")));  // its pong
  }
  settle();
  advance(kHeartbeatSeconds * 1000);
  EXPECT_TRUE(silent->waitForClose());
  EXPECT_NE(talking->readThrough("rtdemo"), "");
  EXPECT_EQ(hub_->stats().websocketsOpen.load(), 1);
}

TEST_F(HubStatesTest, AStreamEndsWhenItsTokenExpiresPastTheLeewayAndNotBefore) {
  const int64_t exp = clock_->wallMs() / 1000 + 60;  // the token's exp, in seconds
  auto stream = addStream("private", publish("private", "m0"), exp);
  // Accepted up to 30 s (the default leeway) past exp.
  advance((60 + 30) * 1000 - 100);
  settle();
  stream->readThrough("\n\n");  // the one heartbeat of that jump
  EXPECT_TRUE(stream->quiet());
  EXPECT_EQ(hub_->stats().tokenExpiries.load(), 0u);
  advance(100);
  EXPECT_NE(stream->readThrough("event: token-expired\n"), "");
  EXPECT_TRUE(stream->waitForClose());
  EXPECT_EQ(hub_->stats().tokenExpiries.load(), 1u);
}

}  // namespace
}  // namespace rtdemo
