// ChaosTest: the fixture of the chaos tests (chaos_sqlite_test.cc,
// chaos_redis_test.cc): rtdemo killed again and again under load, while
// publishers and subscribers carry on the way real clients do.
//
// 64 publishers (48 over POST /send, 16 over WebSocket `publish`) send to 4
// channels, each one message at a time, while every channel has 2 SSE, 2
// long-poll (one kept alive, one a new connection per poll) and 2 WebSocket
// subscribers. Meanwhile the test SIGKILLs rtdemo 5 times, restarting it on
// the same port with the same SQLite file or Redis, and on Redis it also
// SIGKILLs and restarts redis-server twice (AOF, appendfsync always). Each
// event fires after a number of acknowledgements since the last one, not
// after a time, so the run has the same shape on a fast or a loaded machine.
//
// Clients behave like real ones: a publisher whose request fails moves on
// to its next message (whether the failed one was stored is the server's to
// say); a subscriber that loses its connection reconnects, resuming with
// Last-Event-ID (SSE, the last id it saw, as EventSource does), since = the
// last poll answer's last_id, or last_id = the last message's id (WebSocket).
// Every subscriber starts from the channel's `<epoch>-0`, but for one more
// WebSocket per channel that joins after each event the way a new tab
// does: subscribing with no last_id, then resuming from the ids it got.
//
// What is asserted, once publishers stop and every subscriber has caught up
// with the channel's final history (read from the start with /poll):
//   - every acknowledged message (201 / ack) is in that history, under the
//     id its acknowledgement gave;
//   - every subscriber received exactly that history: each stored message
//     once, in the history's order, nothing else (so also every stored but
//     unacknowledged message, and nothing that was never stored); one that
//     joined live-only received exactly the history from its first message
//     on, and that includes every message whose request was sent after the
//     joiner's `subscribed` answer arrived (protocol.md: every message
//     published after `subscribed` arrives);
//   - no subscriber got a `reset`. Both backends keep everything here
//     (synchronous=full, appendfsync always, a history larger than the
//     run), and the epoch survives every restart, so a reset would mean an
//     id that rtdemo itself issued could no longer be served;
//   - each publisher's messages are stored in the order it sent them.
//
// A test sets args_ (the backend's rtdemo arguments; redis_ too on Redis)
// and calls run() with the list of events. Not thread-safe: run() owns the
// client threads it starts and joins them before it returns (or in
// TearDown, when an assertion ended it early).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace rtdemo {

class ChaosTally;

class ChaosTest : public ::testing::Test {
 protected:
  ChaosTest();
  ~ChaosTest() override;
  void TearDown() override;

  // `events`: "rtdemo" (SIGKILL rtdemo, restart it) or "redis" (SIGKILL
  // redis_, restart it), one after each phase of acknowledgements.
  void run(const std::vector<std::string>& events);
  // What every backend adds to args_: a history larger than the run,
  // short heartbeats and poll timeouts.
  static std::vector<std::string> commonArgs();

  std::vector<std::string> args_;
  std::unique_ptr<RedisServer> redis_;

 private:
  // One message a publisher sent: its data, and the id of its
  // acknowledgement ("" when the request failed and the outcome is unknown).
  struct Sent {
    std::string data;
    std::string ackedId;
    std::chrono::steady_clock::time_point sentAt;  // just before the request went out
  };
  using SubscriberFn = void (ChaosTest::*)(ChaosTally*, const std::string&, std::string, bool);

  void startServer();
  void startClients(const std::string& startCursor);
  void subscribe(const std::string& kind, int c, int i, const std::string& cursor, SubscriberFn fn);
  void joinLiveOnly(int event);
  void httpPublisher(int p);
  void wsPublisher(int p);
  void record(int p, const Sent& s);
  void sseSubscriber(ChaosTally* t, const std::string& channel, std::string cursor, bool);
  void pollSubscriber(ChaosTally* t, const std::string& channel, std::string cursor, bool keepAlive);
  void wsSubscriber(ChaosTally* t, const std::string& channel, std::string cursor, bool);
  void stopPublishers();
  void stopSubscribers();
  bool waitForAcks(long n);
  std::vector<std::string> history(const std::string& channel, const std::string& start,
                                   std::map<std::string, std::string>* dataById);
  void checkChannel(int c, const std::string& start, long* acked, long* unknown);

  std::unique_ptr<ServerProcess> server_;
  std::atomic<int> port_{0};  // the same across restarts once known
  std::atomic<long> acks_{0};
  long liveChecks_ = 0;  // test thread only
  std::atomic<bool> stopPublishing_{false}, stopSubscribing_{false};
  std::mutex sentMu_;
  std::vector<std::vector<Sent>> sent_;  // per publisher; guarded by sentMu_
  std::map<int, std::vector<std::unique_ptr<ChaosTally>>> tallies_;  // per channel; fixed once started
  std::vector<std::thread> publishers_, subscribers_;
};

}  // namespace rtdemo
