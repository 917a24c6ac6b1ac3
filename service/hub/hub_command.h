// HubCommand: everything that reaches a hub loop from another thread, and
// CommandSink, where it is posted.
//
// The flow is one way: handlers (pool threads) post connections, the Broker's
// live callbacks post events, and the off-loop Broker calls that a loop asked
// for (loop_broker.h) post their results, each as one of these. Nothing off
// the loop touches a connection; a loop never waits for an answer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "service/hub/connection.h"
#include "service/hub/live_event.h"
#include "service/hub/out_buffer.h"
#include "storage/broker.h"

namespace rtdemo {

struct AttachCmd {
  std::unique_ptr<Conn> conn;  // SSE and polls come with their one Sub
};
// One page of a subscription's history, read off the loop.
struct ReplayCmd {
  uint64_t connId = 0;
  std::string channel;
  uint64_t generation = 0;  // the Sub it was read for
  bool first = false;       // the subscription's first page
  std::string cursor;       // what the page was read after
  HistoryRead history;
  bool more = false;        // more history may follow this page
  std::string epochStart;   // "<epoch>-0", the id of an SSE reset event
  std::string error;        // non-empty: history could not be read
  bool busy = false;        // refused: the workers' queue was full
};
struct LiveCmd {
  LiveEventPtr event;
};
struct WsAnswerCmd {       // a publish's ack or error, from a worker
  uint64_t connId;
  SharedBytes frame;
  bool settles = true;     // ends one of the connection's in-flight requests
};
struct WakeCmd {};         // look at the deadlines again (hub_clock.h)
struct StopCmd {};
using HubCommand =
    std::variant<AttachCmd, ReplayCmd, LiveCmd, WsAnswerCmd, WakeCmd, StopCmd>;

// Where commands for one loop go. Thread-safe.
class CommandSink {
 public:
  virtual ~CommandSink() = default;
  virtual void post(HubCommand command) = 0;
};

}  // namespace rtdemo
