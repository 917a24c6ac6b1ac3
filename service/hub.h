// Hub: owns every streaming SSE connection and every held long poll.
//
// POCO's HTTPServer gives each connection a pool thread for its whole life,
// so a stream written from its handler would pin a thread; a few hundred
// subscribers would starve POST /send. Instead, a handler sends the headers,
// detaches the socket and hands it here. The hub spreads connections over a
// few event loops (hub_loop.h), subscribes to the Broker once per channel,
// encodes each live message once (live_event.h), and fans it out.
//
// Threading: addStream/addPoll are called from pool threads; live messages
// arrive on backend threads; everything else about a connection happens on
// its loop's thread. Ownership: the Broker must outlive the Hub; stop() must
// run before either is destroyed.
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
#include "storage/broker.h"

namespace rtdemo {

class Hub {
 public:
  Hub(Broker* broker, const HubOptions& options);
  ~Hub();

  void start();
  // Answers held polls, closes streams (browsers then reconnect), joins the
  // loops and drops every Broker subscription.
  void stop();

  // Takes a detached SSE socket whose headers and preamble are already sent.
  // `cursor` is the client's Last-Event-ID, or the channel's last id taken
  // before the headers went out; empty means "whatever comes live" (used
  // only when the backend could not give a cursor).
  void addStream(Poco::Net::StreamSocket socket, const std::string& channel,
                 const std::string& cursor);

  // Takes a detached long-poll socket on which nothing has been sent yet.
  // It is answered with the messages after `cursor` as soon as there are
  // any, or empty after `timeoutMs`.
  // `keepAlive`: the client may send another request on this connection.
  void addPoll(Poco::Net::StreamSocket socket, const std::string& channel,
               const std::string& cursor, int64_t timeoutMs, bool keepAlive);

  // True while every loop has turned within `withinMs` (the watchdog).
  bool alive(int64_t withinMs) const;

  const HubStats& stats() const { return stats_; }

  // Called by loops when a connection of `channel` goes away.
  void releaseFeed(const std::string& channel);

 private:
  struct Feed {
    std::unique_ptr<Subscription> subscription;
    size_t users = 0;
  };

  void acquireFeed(const std::string& channel);
  void onLive(const MessagePtr& message);
  HubLoop* pickLoop();
  void attach(std::unique_ptr<Conn> conn, const std::string& cursor);

  Broker* const broker_;
  const HubOptions options_;
  HubStats stats_;
  std::vector<std::unique_ptr<HubLoop>> loops_;
  std::atomic<uint64_t> nextConnId_{1};
  std::atomic<size_t> nextLoop_{0};
  std::atomic<bool> started_{false};

  std::mutex feedsMu_;
  // Guarded by feedsMu_.
  std::unordered_map<std::string, Feed> feeds_;
};

}  // namespace rtdemo
