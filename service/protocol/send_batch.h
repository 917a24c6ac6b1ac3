// Parsing a publish request that may hold many messages: the body of
// POST /send in every form it takes, and the "messages" array of a WebSocket
// publish (ws_protocol.h). One parser, so that both transports accept the
// same batches, under the same limits, with the same refusals.
//
// The forms (docs/protocol.md, "Batch publish"):
//   application/json, an object      one message (send_request.h)
//   application/json, an array       a batch: each element such an object
//   application/x-ndjson             a batch: one such object per line;
//   (or application/ndjson)          blank lines are skipped, a final \n or
//                                    \r\n is optional
//   anything else                    one message as a URL-encoded form
// A batch is all or nothing: the first element that is not a valid message
// refuses the whole of it, with that element's index (counted from 0, blank
// NDJSON lines not counted) and the reason. Limits, each refused with 413:
// rtdemo.send.max-bytes per element's data, rtdemo.send.batch.max-messages
// elements, rtdemo.send.batch.max-bytes in all, counted as the Broker counts
// them (messageCost(): data + event + 64 per message, storage/message.h), so
// a batch accepted here is never refused by Broker::publishBatch's check.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "Poco/JSON/Array.h"
#include "service/protocol/json_writer.h"
#include "service/protocol/send_request.h"
#include "storage/message.h"

namespace rtdemo {

struct SendLimits {
  size_t maxDataBytes = 65536;        // rtdemo.send.max-bytes
  size_t maxMessages = 1000;          // rtdemo.send.batch.max-messages
  uint64_t maxBatchBytes = 1 << 20;   // rtdemo.send.batch.max-bytes
};

struct SendBatch {
  std::vector<SendRequest> messages;  // in the order sent; never empty when parsed
  // True for the batch forms (an array, NDJSON), even of one element: they
  // are stored in one commit and answered with a list of ids.
  bool batch = false;
};

struct SendBatchParse {
  int status = 0;  // 0 when valid, else 400 or 413
  std::string error;
  // The element the refusal is about; -1 when it is about the whole body
  // (not JSON, empty, too many messages).
  long index = -1;
};

// The body of POST /send. On success *out holds every message.
SendBatchParse parseSendBatch(const std::string& contentType, const std::string& body,
                              const SendLimits& limits, SendBatch* out);

// The elements of a JSON array already parsed (a WebSocket publish's
// "messages"): the rules of the array form above.
SendBatchParse readSendArray(const Poco::JSON::Array& array, const SendLimits& limits,
                             SendBatch* out);

// The answer's list of what a batch stored, the same in the 201 of
// POST /send and the WebSocket ack: the key "messages" and, in the order
// sent, {"id","channel"} for each. `json` is inside an object.
void writeStoredMessages(JsonWriter* json, const std::vector<MessagePtr>& stored);

// The largest body worth reading for these limits, by its Content-Type:
// a form (one message) is at most its data with every byte encoded as %XX;
// JSON and NDJSON, which may be a batch, are also allowed twice the batch's
// counted bytes (quotes, names, escapes). Bigger is refused (413) before it
// is read. A WebSocket message, always JSON, gets the JSON limit.
size_t sendBodyLimit(const SendLimits& limits, const std::string& contentType);

}  // namespace rtdemo
