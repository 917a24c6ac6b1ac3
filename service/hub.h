// Hub: owns every SSE stream, held long poll and WebSocket.
//
// POCO's HTTPServer gives each connection a pool thread for its whole life,
// so a stream written from its handler would pin a thread; a few hundred
// subscribers would starve POST /send. Instead, a handler sends the headers
// (or the WebSocket handshake), detaches the socket and hands it here. The
// hub spreads connections over a few event loops (hub_loop.h), subscribes to
// the Broker once per channel, encodes each live message once per transport
// (live_event.h), and fans it out. Broker calls that a loop needs (history
// for a WebSocket subscribe, a WebSocket publish) run on a small worker pool
// so that no loop ever waits for storage.
//
// Threading: add* are called from pool threads; live messages arrive on
// backend threads; everything about a connection happens on its loop's
// thread. Ownership: the Broker must outlive the Hub; stop() must run before
// either is destroyed.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "Poco/Net/StreamSocket.h"
#include "service/hub_loop.h"
#include "service/hub_stats.h"
#include "service/worker_pool.h"
#include "service/ws_protocol.h"
#include "storage/broker.h"

namespace rtdemo {

class Hub {
 public:
  Hub(Broker* broker, const HubOptions& options);
  ~Hub();

  void start();
  // Answers held polls, closes streams and WebSockets (clients then
  // reconnect), joins the loops and workers, and drops every subscription.
  void stop();

  // Takes a detached SSE socket whose headers and preamble are already sent.
  // `cursor` is the client's Last-Event-ID, or the channel's last id taken
  // before the headers went out; empty means "whatever comes live" (used
  // only when the backend could not give a cursor).
  void addStream(Poco::Net::StreamSocket socket, const std::string& channel,
                 const std::string& cursor);

  // Takes a detached long-poll socket on which nothing has been sent yet.
  // It is answered with the messages after `cursor` as soon as there are
  // any, or empty after `timeoutMs`. `keepAlive`: the client may send
  // another request on this connection; `reuse` says whether a loop may
  // answer those itself and what every answer carries (hub_loop.h).
  void addPoll(Poco::Net::StreamSocket socket, const std::string& channel,
               const std::string& cursor, int64_t timeoutMs, bool keepAlive,
               PollReuse reuse);

  // Takes a WebSocket after its handshake. With a non-empty `channel` it is
  // subscribed at once, after `cursor` as for addStream. `gate` (may be
  // null) is asked before every later subscribe and publish.
  void addWebSocket(Poco::Net::StreamSocket socket, const std::string& channel,
                    const std::string& cursor, std::unique_ptr<WsGate> gate);

  // True while every loop has turned within `withinMs` (the watchdog).
  bool alive(int64_t withinMs) const;

  const HubStats& stats() const { return stats_; }

  // For loops: one reference to the Broker subscription of `channel` per
  // subscription a connection holds.
  void acquireFeed(const std::string& channel);
  void releaseFeed(const std::string& channel);

  // For loops: read the history of a WebSocket subscription off the loop and
  // post it back as a ReplayCmd; store a WebSocket publish and post back its
  // ack or error as a WsAnswerCmd.
  void replayLater(HubLoop* loop, uint64_t connId, const std::string& channel,
                   const std::string& cursor);
  void publishLater(HubLoop* loop, uint64_t connId, wsproto::Command command);

 private:
  struct Feed {
    std::unique_ptr<Subscription> subscription;
    size_t users = 0;
  };

  void onLive(const MessagePtr& message);
  HubLoop* pickLoop();
  // Posts `conn` (with its one subscription) to a loop, then its history.
  void attach(std::unique_ptr<Conn> conn, const std::string& cursor);
  // Reads everything after `cursor`, in pages.
  ReplayCmd readHistory(uint64_t connId, const std::string& channel,
                        const std::string& cursor);

  Broker* const broker_;
  const HubOptions options_;
  HubStats stats_;
  std::vector<std::unique_ptr<HubLoop>> loops_;
  WorkerPool workers_{2};
  std::atomic<uint64_t> nextConnId_{1};
  std::atomic<size_t> nextLoop_{0};
  std::atomic<bool> started_{false};

  std::mutex feedsMu_;
  // Guarded by feedsMu_.
  std::unordered_map<std::string, Feed> feeds_;
};

}  // namespace rtdemo
