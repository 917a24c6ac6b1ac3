// Hub: owns every SSE stream, held long poll and WebSocket.
//
// POCO's HTTPServer gives each connection a pool thread for its whole life,
// so a stream written from its handler would pin a thread; a few hundred
// subscribers would starve POST /send. Instead, a handler sends the headers
// (or the WebSocket handshake), detaches the socket and hands it here. The
// hub spreads connections over a few event loops (hub_loop.h), subscribes to
// the Broker once per channel, encodes each live message once per transport
// (live_event.h), and fans it out. Broker calls that a loop needs (history
// pages, a WebSocket publish) run on a small worker pool, and the Broker
// subscriptions behind the feeds are made and dropped on a feed thread of
// their own, so that no loop ever waits for storage.
//
// Threading: add* are called from pool threads; live messages arrive on
// backend threads; everything about a connection happens on its loop's
// thread. Ownership: the Broker must outlive the Hub; stop() must run before
// either is destroyed.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "Poco/Net/StreamSocket.h"
#include "service/hub/hub_loop.h"
#include "service/hub/hub_stats.h"
#include "service/hub/worker_pool.h"
#include "service/protocol/ws_protocol.h"
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
  // `tokenExpiresAt` (seconds since 1970): the token that allowed this
  // private channel expires then, and the stream ends (hub_expiry.cc).
  void addStream(Poco::Net::StreamSocket socket, const std::string& channel,
                 const std::string& cursor,
                 std::optional<int64_t> tokenExpiresAt = std::nullopt);

  // Takes a detached long-poll socket on which nothing has been sent yet.
  // It is answered with the messages after `cursor` as soon as there are
  // any, or empty after `timeoutMs`. `keepAlive`: the client may send
  // another request on this connection; `reuse` says whether a loop may
  // answer those itself and what every answer carries (hub_loop.h).
  // `buffered`: what the client sent after the request that POCO already
  // read (a pipelined next request; http_util.h).
  void addPoll(Poco::Net::StreamSocket socket, const std::string& channel,
               const std::string& cursor, int64_t timeoutMs, bool keepAlive,
               PollReuse reuse, std::string buffered = "",
               std::optional<int64_t> tokenExpiresAt = std::nullopt);

  // Takes a WebSocket after its handshake. With a non-empty `channel` it is
  // subscribed at once, after `cursor` as for addStream. `gate` (may be
  // null) is asked before every later subscribe and publish.
  // `buffered`: frames the client sent with the upgrade that POCO already
  // read; they are decoded before anything else.
  void addWebSocket(Poco::Net::StreamSocket socket, const std::string& channel,
                    const std::string& cursor, std::unique_ptr<WsGate> gate,
                    std::string buffered = "",
                    std::optional<int64_t> tokenExpiresAt = std::nullopt);

  // True while every loop has turned within `withinMs` (the watchdog).
  bool alive(int64_t withinMs) const;

  const HubStats& stats() const { return stats_; }

  // For loops and handlers: one reference to the Broker subscription of
  // `channel` per subscription a connection holds. Neither call does I/O:
  // the Broker's subscribe() and the unsubscribe run on the feed thread, in
  // the order the calls were made. `ready` runs once the Broker
  // subscription exists, at once on the caller's thread if it already does,
  // else on the feed thread; it must not block.
  void acquireFeed(const std::string& channel, std::function<void()> ready);
  void releaseFeed(const std::string& channel);

  // One page of history to read for a subscription (hub_loop.h, step 2).
  struct PageRequest {
    uint64_t connId = 0;
    std::string channel;
    uint64_t generation = 0;
    bool first = false;
    std::string cursor;       // read after this id; "" with resolveNow: "now"
    bool resolveNow = false;  // a live-only subscribe: take "now" first
    size_t limit = 0;         // messages to ask the Broker for
    size_t budgetBytes = 0;   // and what the page may hold (history_page.h)
  };
  // For loops: reads a page on a worker and posts it back as a ReplayCmd.
  // `client`: the client asked for it (a re-poll); false when the workers'
  // queue is full, and nothing is read. A replay's next page is never refused.
  bool readPageLater(HubLoop* loop, PageRequest request, bool client);
  // For loops: a WebSocket subscribe registered on `loop`. Acquires the feed,
  // then reads the first page (after "now" without a cursor). False when
  // the workers' queue is full; nothing was acquired then.
  bool subscribeLater(HubLoop* loop, PageRequest request);
  // For loops: stores a WebSocket publish and posts back its ack or error as
  // a WsAnswerCmd. False when the workers' queue is full.
  bool publishLater(HubLoop* loop, uint64_t connId, wsproto::Command command);

 private:
  // A Broker subscription shared by every subscription to its channel. The
  // feed thread alone touches `subscription`; the rest is guarded by feedsMu_.
  struct Feed {
    std::unique_ptr<Subscription> subscription;
    size_t users = 0;
    bool ready = false;
    std::vector<std::function<void()>> waiters;  // run once ready
  };

  void onLive(const MessagePtr& message);
  HubLoop* pickLoop();
  // Posts `conn` (with its one subscription) to a loop, then its first page.
  void attach(std::unique_ptr<Conn> conn, const std::string& cursor);
  // Reads one page (any thread but a loop's).
  ReplayCmd readPage(const PageRequest& request);

  Broker* const broker_;
  const HubOptions options_;
  HubStats stats_;
  std::vector<std::unique_ptr<HubLoop>> loops_;
  WorkerPool workers_{2, "rtdemo-worker"};
  WorkerPool feedThread_{1, "rtdemo-feed"};
  std::atomic<uint64_t> nextConnId_{1};
  std::atomic<size_t> nextLoop_{0};
  std::atomic<bool> started_{false};

  std::mutex feedsMu_;
  // Guarded by feedsMu_.
  std::unordered_map<std::string, std::shared_ptr<Feed>> feeds_;
};

}  // namespace rtdemo
