// Hub: owns every SSE stream, held long poll and WebSocket.
//
// POCO's HTTPServer gives each connection a pool thread for its whole life,
// so a stream written from its handler would pin a thread; a few hundred
// subscribers would starve POST /send. Instead, a handler sends the headers
// (or the WebSocket handshake), detaches the socket and hands it here. The
// hub spreads connections over a few event loops (hub_loop.h), subscribes to
// the Broker once per channel, encodes each live message once per transport
// (live_event.h), and fans it out.
//
// What owns what, and which way calls go:
//   Hub ──owns──▶ HubLoops          (hub_loop.h: the sockets)
//       ──owns──▶ BrokerGateway     (broker_gateway.h: workers, feeds)
//   HubLoop ──asks──▶ LoopBroker    (the gateway, seen through an interface
//                                    with no blocking call)
//   gateway ──posts results──▶ the loop's CommandSink (hub_command.h)
// A loop never calls the Hub or the Broker, and nothing but its own thread
// touches its connections.
//
// Threading: add* are called from pool threads; live messages arrive on
// backend threads; everything about a connection happens on its loop's
// thread. Ownership: the Broker must outlive the Hub; stop() must run before
// either is destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "Poco/Net/StreamSocket.h"
#include "service/hub/broker_gateway.h"
#include "service/hub/hub_loop.h"
#include "service/hub/hub_options.h"
#include "service/hub/hub_stats.h"
#include "service/hub/stream_waiters.h"
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
  // only when the backend could not give a cursor). `tokenExpiresAt`
  // (seconds since 1970): the token that allowed this private channel
  // expires then, and the stream ends (hub_expiry.cc).
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
  // null) is asked before every later subscribe and publish. `buffered`:
  // frames the client sent with the upgrade that POCO already read; they
  // are decoded before anything else.
  void addWebSocket(Poco::Net::StreamSocket socket, const std::string& channel,
                    const std::string& cursor, std::unique_ptr<WsGate> gate,
                    std::string buffered = "",
                    std::optional<int64_t> tokenExpiresAt = std::nullopt);

  // True while every loop has turned within `withinMs` (the watchdog).
  bool alive(int64_t withinMs) const;

  // Has every loop look at its deadlines now: after a test moved the clock
  // (hub_clock.h). Harmless at any time.
  void wake();

  const HubStats& stats() const { return stats_; }

  // Durable Streams readers waiting for their stream to move
  // (stream_waiters.h); started and stopped with the hub.
  StreamWaiters& streamWaiters() { return streamWaiters_; }

 private:
  void onLive(const MessagePtr& message);  // on a backend thread
  HubLoop* pickLoop();
  // Posts `conn` (with its one subscription) to a loop, then its first page.
  void attach(std::unique_ptr<Conn> conn, const std::string& cursor);

  const HubOptions options_;
  HubStats stats_;
  BrokerGateway gateway_;
  std::vector<std::unique_ptr<HubLoop>> loops_;
  StreamWaiters streamWaiters_;
  std::atomic<uint64_t> nextConnId_{1};
  std::atomic<size_t> nextLoop_{0};
  std::atomic<bool> started_{false};
};

}  // namespace rtdemo
