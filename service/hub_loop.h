// HubLoop: one event-loop thread that owns streaming and parked sockets.
//
// The life of a connection in a loop:
//   1. A pool thread has sent the response headers (SSE) or nothing (poll),
//      detached the socket from POCO, and posts an Attach. From then on the
//      connection is in its channel's list and collects live events in
//      `pendingLive` while it is `replaying`.
//   2. The pool thread reads the history after the client's cursor and posts
//      a Replay. The loop writes the history, then the pending live events
//      that are newer than what was written, and the connection goes live.
//      Registering before reading is what closes the seam: a message is
//      either already readable when the history is read, or it arrives as a
//      live event after the Attach; duplicates are dropped by id.
//   3. Live events are written to every live stream of the channel; a parked
//      poll is answered with the first newer event and closed.
//      A long history is written as the socket drains (pumpBacklog), never
//      more than half the buffer limit ahead, so a client resuming after a
//      long absence is not mistaken for a slow one.
//   4. A stream whose unsent bytes pass the buffer limit is cut off; the
//      client reconnects with its Last-Event-ID and resumes from history.
//   5. Heartbeats go to every live stream; parked polls are answered empty
//      at their deadline. A peer that closes is dropped at once.
//   6. An answered poll on a keep-alive connection stays here, idle, until
//      the client's next request starts to arrive; the socket then goes back
//      to the HTTP server unread (options.handBack), which parses it like
//      any request. Idle ones are closed after keepAliveIdleMs.
// Every socket is non-blocking and written with send(MSG_NOSIGNAL); a loop
// never blocks on a client.
//
// Threading: post() is thread-safe; everything else runs on the loop thread.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "Poco/Net/StreamSocket.h"
#include "service/hub_stats.h"
#include "service/live_event.h"
#include "service/out_buffer.h"
#include "storage/broker.h"

namespace rtdemo {

class Hub;

struct HubOptions {
  int loops = 2;
  int heartbeatSeconds = 15;
  size_t maxBufferBytes = 1 << 20;
  size_t pollMaxBatch = 100;
  // Gives an answered keep-alive poll connection back to the HTTP server
  // when its next request arrives (connection_returner.h). Empty: answered
  // polls are closed.
  std::function<void(const Poco::Net::StreamSocket&)> handBack;
  int64_t keepAliveIdleMs = 15000;  // how long an answered poll may idle
};

// One detached client socket.
struct Conn {
  enum class Kind { kStream, kPoll };

  Conn(uint64_t id, Kind kind, Poco::Net::StreamSocket socket,
       std::string channel);

  const uint64_t id;
  const Kind kind;
  Poco::Net::StreamSocket socket;
  const int fd;
  const std::string channel;

  bool replaying = true;
  std::vector<LiveEventPtr> pendingLive;  // live events seen while replaying
  size_t pendingBytes = 0;                // their encoded size
  std::vector<MessagePtr> backlog;        // history not yet written
  size_t backlogNext = 0;
  std::optional<MessageId> lastSent;      // nullopt: every live event is new
  std::string pollCursor;                 // a held poll's empty answer
  int64_t pollTimeoutMs = 0;              // a held poll's wait, from replay
  int64_t pollDeadlineMs = 0;             // steady clock, once parked
  bool keepAlive = false;                 // a poll the client may reuse
  bool answered = false;                  // a poll's answer is written or queued
  bool idle = false;                      // answered, waiting for a new request
  bool pipelined = false;                 // the next request already arrived
  bool closing = false;                   // answered; finish once flushed
  bool wantWrite = false;                 // EPOLLOUT registered
  size_t slot = 0;                        // index in its channel list
  OutBuffer out;
};

struct AttachCmd {
  std::unique_ptr<Conn> conn;
};
struct ReplayCmd {
  uint64_t connId;
  HistoryRead history;
  std::string epochStart;  // "<epoch>-0", the id of a reset event
  std::string error;       // non-empty: history could not be read
};
struct LiveCmd {
  LiveEventPtr event;
};
struct StopCmd {};
using HubCommand = std::variant<AttachCmd, ReplayCmd, LiveCmd, StopCmd>;

class HubLoop {
 public:
  // `hub` must outlive the loop.
  HubLoop(Hub* hub, const HubOptions& options, HubStats* stats);
  ~HubLoop();

  void start();
  // Answers held polls, closes streams, and joins the thread.
  void stopAndJoin();

  void post(HubCommand command);

  // Monotonic time of the loop's last turn, for the watchdog.
  int64_t lastTurnMs() const { return lastTurnMs_.load(); }

 private:
  void run();
  void drainInbox();
  void handle(AttachCmd& cmd);
  void handle(ReplayCmd& cmd);
  void handle(LiveCmd& cmd);
  void handleIo(uint64_t connId, uint32_t events);
  void sendHeartbeats(int64_t now);
  void expirePolls(int64_t now);
  void shutdownAll();

  bool isNew(const Conn& c, const Message& m) const;
  // Writes more of a stream's history; returns false if the stream closed.
  bool pumpBacklog(Conn* c);
  void cutOffSlow(Conn* c);
  void writeStream(Conn* c, const SharedBytes& bytes);
  void answerPoll(Conn* c, const SharedBytes& response);
  void answerPollNow(Conn* c, const std::vector<MessagePtr>& messages,
                     const std::string& lastId, bool reset,
                     const std::string& oldest);
  void setWantWrite(Conn* c, bool want);
  void updateInterest(Conn* c);
  void finishAnswered(Conn* c);
  void handBack(Conn* c);
  void unlinkFromChannel(Conn* c);
  void close(Conn* c);

  Hub* const hub_;
  const HubOptions options_;
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
  std::unordered_map<std::string, std::vector<Conn*>> channels_;
  std::set<std::pair<int64_t, uint64_t>> pollDeadlines_;
  int64_t nextHeartbeatMs_ = 0;
};

}  // namespace rtdemo
