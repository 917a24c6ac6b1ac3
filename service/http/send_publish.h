// publishSend(): POST /send once its body has been read, as one piece of
// code for every path that serves it: the POCO handler (send_handler.cc)
// and a hub loop reading a kept-alive connection's next request.
//
// It parses the body (service/protocol/send_batch.h: one message, a JSON
// array or NDJSON), applies the channel rules of the caller's SendAuth to
// every element (request_security.h), publishes asynchronously (one message:
// Broker::publishAsync; a batch form: publishBatchAsync, in order, in one
// commit, all or nothing) and builds the answer as data, so that the caller
// writes it wherever its connection lives:
//   one message     201 {"id","channel"}
//   a batch         201 {"messages":[{"id","channel"}, ...]} in the order sent
//   a refusal       4xx {"error", "index"?}: the element it is about; nothing
//                   stored
//   backend error   500/503 {"error"} (503 with Retry-After); nothing stored
// The counters (SendCounters, the publish latency) are updated here, once
// per request.
//
// Threading and ownership: call from any thread. `done` is called exactly
// once: inline for a refusal, else from the Broker's completion, on a
// backend thread (short, must not block; storage/broker.h). REQUIRES: `ctx`
// outlives that call (the POCO handler waits for it; a hub loop holds the
// context until its loops stop).
#pragma once

#include <functional>
#include <string>

#include "service/http/request_security.h"
#include "service/http/service_context.h"
#include "service/protocol/send_batch.h"

namespace rtdemo {

// The answer to one POST /send.
struct SendAnswer {
  int status = 0;
  std::string json;    // the body, application/json
  HeaderList headers;  // besides Content-Type: Retry-After, WWW-Authenticate
  bool close = false;  // the connection must close after it (a refused token)
};
using SendAnswerDone = std::function<void(SendAnswer)>;

void publishSend(ServiceContext& ctx, const SendAuth& auth, const std::string& contentType,
                 const std::string& body, SendAnswerDone done);

// The limits of a /send body (rtdemo.send.max-bytes, .batch.max-messages,
// .batch.max-bytes) from the handlers' settings.
SendLimits sendLimitsOf(const HandlerSettings& settings);

}  // namespace rtdemo
