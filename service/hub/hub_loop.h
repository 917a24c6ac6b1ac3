// HubLoop: one event-loop thread that owns streaming and parked sockets.
//
// A connection (Conn) is one socket: an SSE stream, a long poll or a
// WebSocket. What it receives is organised in subscriptions (Sub), one per
// channel: SSE and polls have exactly one, a WebSocket any number.
//
// The life of a subscription:
//   1. It is registered in its channel's list before its history is read (a
//      pool thread posts an Attach; a WebSocket subscribe registers at once
//      on the loop). From then on live events reach it; while it is
//      `replaying` they wait in `pendingLive`.
//   2. The history after the client's cursor is read off the loop, one page
//      at a time, and each page comes back as a Replay (hub_replay.cc). The
//      loop writes a page, and asks for the next one only once the socket
//      has taken everything written so far, so a reader that never reads
//      costs one page and its output buffer, however long the history. When
//      a page comes back short the history is exhausted: the pending live
//      events newer than what was written follow, and the subscription goes
//      live. Registering before reading is what closes the seam: a message
//      is either already readable when the last page is read, or it arrives
//      as a live event after registration; duplicates are dropped by id.
//      Pending live events that outgrow the buffer limit are dropped and one
//      more page is read instead, since everything delivered live was stored
//      first.
//   3. Live events are written to every live subscription of the channel; a
//      parked poll is answered with the first newer event.
//   4. A connection whose unsent bytes pass the buffer limit is cut off; the
//      client reconnects with its last id and resumes from history.
//      A live event of another epoch than the last one written (a flushed
//      Redis) is preceded by a `reset`, so the loss is never silent.
//   5. Heartbeats go to every stream and WebSocket (with a ping: a WebSocket
//      that stays silent for three heartbeats is dropped); parked polls are
//      answered empty at their deadline. A peer that closes is dropped at once.
//   6. An answered poll on a keep-alive connection stays here, idle, until
//      the client's next request arrives. A plain re-poll of the same public
//      channel is read and answered here (hub_poll.cc): its subscription
//      stayed registered between the two requests and kept what arrived
//      meanwhile, so no history needs reading when the client asks from the
//      id it was given. Any other request goes back to the HTTP server
//      unread (options.handBack), which parses it like any request. Idle
//      connections are closed after keepAliveIdleMs.
// Every socket is non-blocking and written with send(MSG_NOSIGNAL); a loop
// never blocks on a client, and never on the Broker: it holds only a
// LoopBroker (loop_broker.h), whose calls return at once and whose results
// come back as commands (hub_command.h). A connection's lifecycle is its
// Conn::phase (connection.h).
//
// An exception raised while serving one connection (its bytes, its replay,
// its share of a fan-out) closes that connection, is counted and logged in
// one line, and the loop goes on: no client can end a loop.
//
// Threading: post() is thread-safe; everything else runs on the loop thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "service/hub/batch_sender.h"
#include "service/hub/connection.h"
#include "service/hub/hub_command.h"
#include "service/hub/hub_options.h"
#include "service/hub/hub_stats.h"
#include "service/hub/loop_broker.h"
#include "service/protocol/poll_continuation.h"
#include "service/protocol/ws_protocol.h"

namespace rtdemo {

// The steady-clock deadline of a token that expires at `expiresAtSeconds`
// (its exp, seconds since 1970) and is accepted `leewaySeconds` past it, as
// the verifier accepts it; 0 for a token without exp.
int64_t expiryDeadline(const HubClock& clock, std::optional<int64_t> expiresAtSeconds,
                       int leewaySeconds);

class HubLoop : public CommandSink {
 public:
  // `broker` and `stats` must outlive the loop.
  HubLoop(LoopBroker* broker, const HubOptions& options, HubStats* stats);
  ~HubLoop() override;

  void start();
  // Answers held polls, closes streams and WebSockets, and joins the thread.
  void stopAndJoin();

  void post(HubCommand command) override;

  // Monotonic time of the loop's last turn, for the watchdog.
  int64_t lastTurnMs() const { return lastTurnMs_.load(); }

 private:
  void run();
  void drainInbox();
  void handle(AttachCmd& cmd);
  void handle(ReplayCmd& cmd);
  void handle(LiveCmd& cmd);
  void handle(WsAnswerCmd& cmd);
  void handle(WakeCmd&) {}  // the turn that follows looks at the deadlines
  void handleIo(uint64_t connId, uint32_t events);
  void sendHeartbeats(int64_t nowWall);
  void shutdownAll();

  // Runs `f`, which serves connection `connId`; an exception closes that
  // connection (failConn) instead of ending the loop.
  template <typename F>
  void guarded(uint64_t connId, const char* what, F&& f);
  void failConn(uint64_t connId, const char* what, const char* why);

  // Subscriptions.
  void link(Sub* s);
  void unlink(Sub* s);
  // Removes a subscription from its connection and drops its feed.
  void dropSub(Conn* c, Sub* s);
  uint64_t nextGeneration() { return ++generations_; }
  bool isNew(const Sub& s, const Message& m) const;
  SharedBytes encodeFor(const Conn& c, const Message& m) const;
  const SharedBytes& liveBytesFor(const Conn& c, const LiveEvent& ev) const;
  SharedBytes resetNotice(const Conn& c, const Sub& s, const std::string& epochStart,
                          const std::string& oldest, const std::string& reason) const;
  // Writes one live event to a live stream or WebSocket subscription,
  // preceded by a reset when it is of another epoch than the last one
  // written. `batched`: inside a fan-out round. False if the connection
  // closed.
  bool sendLive(Conn* c, Sub* s, const LiveEventPtr& ev, bool batched);

  // History replay (hub_replay.cc).
  void applyPage(Conn* c, Sub* s, ReplayCmd& cmd);
  size_t pageBudget() const;
  bool pumpHistory(Sub* s);  // false if the connection closed
  void requestPage(Sub* s);
  bool goLive(Sub* s);       // false if the connection closed
  void replayFailed(Conn* c, Sub* s, const ReplayCmd& cmd);
  void queueWhileReplaying(Sub* s, const LiveEventPtr& ev);

  // Writing.
  bool write(Conn* c, const SharedBytes& bytes);  // false if it closed
  // write() for a fan-out or heartbeat round: the send waits in batch_ until
  // flushBatch(), which the round calls before it returns. Every connection
  // is in a round at most once, so none is closed while its send waits.
  void writeBatched(Conn* c, const SharedBytes& bytes);
  // True if a send to `c` may wait in batch_ now: inside a round, not while
  // the batch is being flushed, and with nothing queued ahead of it.
  bool canBatch(const Conn& c) const;
  struct Batched;
  // Puts one send in batch_ (flushing it when full); call only if canBatch().
  void queueBatched(Batched b);
  void flushBatch();
  // What write() does once a send's outcome is known.
  bool afterWrite(Conn* c, OutBuffer::Result r);
  void cutOffSlow(Conn* c);
  void afterFlush(Conn* c);
  void setWantWrite(Conn* c, bool want);
  void updateInterest(Conn* c);

  // Long polls (hub_poll.cc).
  void answerPoll(Conn* c, int status, const SharedBytes& body);  // POCO's reason phrase
  void answerPollNow(Conn* c, const std::vector<MessagePtr>& messages,
                     const std::string& lastId, bool reset,
                     const std::string& oldest);
  void livePoll(Conn* c, Sub* s, const LiveEventPtr& event);
  void finishAnswered(Conn* c);
  // What answerPoll() does once its write's outcome is known.
  void afterPollWrite(Conn* c, OutBuffer::Result r);
  void readPollInput(Conn* c);
  void nextPoll(Conn* c);
  void rePoll(Conn* c, const NextPoll& poll);
  void handBack(Conn* c);
  void replayPoll(Conn* c, Sub* s, ReplayCmd& cmd, std::vector<LiveEventPtr> pending);
  void parkPoll(Conn* c);
  // Puts a waiting poll (its timeout) or an idle one (keepAliveIdleMs) in
  // pollDeadlines_, and takes it out; they keep pollsParked and pollsIdle.
  void armDeadline(Conn* c, int64_t atMs);
  void disarmDeadline(Conn* c);
  void expirePolls(int64_t now);
  bool keepsListening(const Conn& c) const;

  // Token expiry (hub_expiry.cc).
  void scheduleExpiry(Conn* c);
  void expireTokens(int64_t now);
  void endExpired(Conn* c, int64_t now);

  // WebSockets (hub_ws.cc).
  void readWebSocket(Conn* c);
  // Decodes and answers `n` bytes the client sent. False once the
  // connection is closing or closed.
  bool consumeWebSocket(Conn* c, const char* data, size_t n);
  void handleWsText(Conn* c, const std::string& text);
  void wsSend(Conn* c, const std::string& json);
  void wsClose(Conn* c, uint16_t code, const std::string& reason);
  // Takes one subscribe token and one in-flight slot of the connection, or
  // answers the refusal and returns false.
  bool wsAdmit(Conn* c, const wsproto::Command& cmd, bool subscribe);
  void wsHeartbeat(Conn* c, const SharedBytes& heartbeat, const SharedBytes& ping, int64_t now);

  void close(Conn* c);
  // The two halves of letting a connection go, shared by close() and
  // handBack(): detach() takes it out of every list, epoll and the security
  // layer's counts; discard() destroys it and drops its channels' feeds.
  void detach(Conn* c);
  void discard(Conn* c);
  // Destroys a connection that close() or handBack() let go of; during a
  // fan-out it waits in graveyard_ until the fan-out ends, so the fan-out's
  // copy of the subscriber list never points at freed memory.
  void forget(uint64_t connId);

  LoopBroker* const broker_;
  const HubOptions options_;
  const HubClock& clock_;
  HubStats* const stats_;
  int epollFd_ = -1;
  int wakeFd_ = -1;
  std::thread thread_;
  std::atomic<int64_t> lastTurnMs_{0};

  std::mutex inboxMu_;
  // Guarded by inboxMu_.
  std::vector<HubCommand> inbox_;

  // Loop thread only.
  bool stopping_ = false;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::unordered_map<std::string, std::vector<Sub*>> channels_;
  std::set<std::pair<int64_t, uint64_t>> pollDeadlines_;
  // (steady ms, conn id): the earliest token expiry of each connection.
  std::set<std::pair<int64_t, uint64_t>> expiries_;
  bool fanningOut_ = false;
  std::vector<std::unique_ptr<Conn>> graveyard_;
  // Null when io_uring is off or unavailable. batched_[tag] is the
  // connection and bytes of each send waiting in it.
  std::unique_ptr<BatchSender> batch_;
  struct Batched {
    Conn* conn;
    const SharedBytes* bytes;  // shared by the round (an event, a heartbeat)
    SharedBytes owned;         // or this connection's own (a poll answer)
    bool pollAnswer;
  };
  std::vector<Batched> batched_;
  bool flushing_ = false;      // flushBatch() is reporting outcomes
  int64_t nextHeartbeatMs_ = 0;
  uint64_t generations_ = 1;  // 1 is the first Sub of a Conn made off the loop
};

template <typename F>
void HubLoop::guarded(uint64_t connId, const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    failConn(connId, what, e.what());
  } catch (...) {
    failConn(connId, what, "unknown exception");
  }
}

}  // namespace rtdemo
