// LoopBroker: the one way a hub loop reaches storage.
//
// Every call returns at once. The Broker call runs off the loop (on the
// hub's workers or its feed thread, broker_gateway.h) and its result comes
// back to the loop that asked, as a command posted to its CommandSink. A
// loop holds a LoopBroker and never a Broker, so a blocking storage call on
// a loop does not compile.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "service/hub/hub_command.h"
#include "service/protocol/ws_protocol.h"

namespace rtdemo {

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

class LoopBroker {
 public:
  virtual ~LoopBroker() = default;

  // Reads one page and posts it to `sink` as a ReplayCmd. `client`: the
  // client asked for it (a re-poll); false when the workers' queue is
  // full, and nothing is read. A replay's next page is never refused.
  virtual bool readPage(PageRequest request, CommandSink* sink, bool client) = 0;

  // A WebSocket subscribe registered on a loop: takes a reference to the
  // channel's feed, then reads the first page (after "now" without a
  // cursor). False when the workers' queue is full; nothing was taken then.
  virtual bool subscribe(PageRequest request, CommandSink* sink) = 0;

  // Drops one reference to a channel's feed taken by subscribe() or by a
  // connection attached with its subscription.
  virtual void releaseFeed(const std::string& channel) = 0;

  // Stores a WebSocket publish and posts its ack or error to `sink` as a
  // WsAnswerCmd. False when the workers' queue is full.
  virtual bool publish(uint64_t connId, wsproto::Command command, CommandSink* sink) = 0;
};

}  // namespace rtdemo
