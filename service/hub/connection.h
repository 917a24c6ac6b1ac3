// Conn and Sub: one detached client socket and the channels it receives,
// as a hub loop holds them (hub_loop.h tells their life).
//
// A connection's lifecycle is one field, Conn::phase, with a set of values
// per transport, so that "what may happen next" is read from one place:
//
//   SSE stream, WebSocket     kLive --(last event or close frame queued)--> kEnding
//                             kEnding --(output flushed)--> closed
//   long poll                 kWaiting --(answer queued)--> kAnswering
//                             kAnswering --(flushed; keep-alive)--> kIdle
//                             kAnswering --(flushed; no keep-alive)--> closed
//                             kIdle --(a re-poll read here)--> kWaiting
//                             kIdle --(another request)--> handed back to POCO
//                             kIdle --(keepAliveIdleMs)--> closed
// A waiting poll is replaying (its Sub's page is being read) or parked (its
// deadline is in HubLoop::pollDeadlines_). Any connection is closed at once
// when its peer goes away, an error occurs, or its buffer passes the limit.
//
// A subscription (Sub) is `replaying` until its history is written, then
// live (hub_replay.cc).
//
// Not thread-safe: owned by one loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "Poco/Net/StreamSocket.h"
#include "service/hub/live_event.h"
#include "service/hub/out_buffer.h"
#include "service/hub/ws_gate.h"
#include "service/protocol/ws_frame.h"
#include "storage/message.h"

namespace rtdemo {

struct Conn;

// What a kept-alive long-poll connection carries from its first request so
// that a hub loop can answer the client's next polls itself.
struct PollReuse {
  bool allowed = false;  // a public channel: no token to check again
  std::string origin;    // the first request's Origin header, "" if none
  std::string headers;   // "Name: value\r\n" lines every answer carries
};

// One channel a connection receives.
struct Sub {
  Sub(Conn* c, std::string ch, uint64_t gen)
      : conn(c), channel(std::move(ch)), generation(gen) {}

  Conn* const conn;
  const std::string channel;
  // Unique per loop: a Replay names the subscription it was read for, so
  // one read for an earlier subscription to the same channel (subscribe,
  // unsubscribe, subscribe again on one WebSocket) is recognised and ignored.
  const uint64_t generation;
  bool replaying = true;
  // Live events seen while replaying, or while a poll connection is
  // between two requests (hub_poll.cc).
  std::vector<LiveEventPtr> pendingLive;
  size_t pendingBytes = 0;                // their encoded size
  // History paging (hub_replay.cc).
  std::vector<MessagePtr> page;           // the page being written
  size_t pageNext = 0;                    // page[0, pageNext) are written
  bool pageInFlight = true;               // a page is being read for it
  bool morePages = false;                 // the page was not the last
  bool liveDropped = false;               // pendingLive overflowed since the
                                          // last page was asked for
  size_t pageLimit = 0;                   // messages to ask for next
  std::optional<MessageId> lastSent;      // nullopt: every live event is new
  std::string ref;                        // a WebSocket subscribe's ref
  size_t slot = SIZE_MAX;                 // index in its channel list
  // When the token that allowed this private channel expires, on the
  // loop's steady clock; 0: never (hub_expiry.cc).
  int64_t expiresSteadyMs = 0;
};

// One detached client socket.
struct Conn {
  enum class Kind { kStream, kPoll, kWebSocket };
  // See the top of this file for which values each kind takes.
  enum class Phase {
    kLive,       // SSE, WebSocket: streaming
    kEnding,     // SSE, WebSocket: closed once what is queued is flushed
    kWaiting,    // poll: replaying or parked
    kAnswering,  // poll: its answer is queued
    kIdle,       // poll: answered, waiting for the client's next request
  };

  Conn(uint64_t id, Kind kind, Poco::Net::StreamSocket socket);
  Sub* find(const std::string& channel);
  // More may be written: not ending, and a poll not yet answered.
  bool writable() const { return phase == Phase::kLive || phase == Phase::kWaiting; }
  // A poll whose answer is written or queued (it no longer counts as held).
  bool answered() const { return phase == Phase::kAnswering || phase == Phase::kIdle; }

  const uint64_t id;
  const Kind kind;
  Poco::Net::StreamSocket socket;
  const int fd;
  Phase phase;
  std::vector<std::unique_ptr<Sub>> subs;

  // Long polls.
  std::string pollCursor;                 // a held poll's empty answer
  int64_t pollTimeoutMs = 0;              // a held poll's wait, from replay
  int64_t pollDeadlineMs = 0;             // steady clock, once parked
  bool keepAlive = false;                 // the client may send another request
  bool pipelined = false;                 // the next request already arrived
  PollReuse reuse;

  // WebSockets.
  std::unique_ptr<ws::Decoder> decoder;
  std::unique_ptr<WsGate> gate;           // null: everything allowed
  int64_t lastHeardMs = 0;                // steady clock
  int inFlight = 0;                       // subscribes and publishes at the workers
  double subscribeTokens = 0;             // the subscribe rate's bucket
  int64_t subscribeRefillMs = 0;          // steady clock of its last refill

  // Bytes the client sent that POCO read before the socket was detached
  // (http_util.h): a poll's pipelined next request, frames sent with a
  // WebSocket upgrade. Consumed before anything is read from the socket.
  std::string input;

  int64_t expiryKey = 0;                  // its entry in expiries_, 0: none

  // I/O mechanics, not lifecycle.
  bool wantWrite = false;                 // EPOLLOUT registered
  bool inBatch = false;                   // a send waits in the loop's batch
  OutBuffer out;
};

}  // namespace rtdemo
