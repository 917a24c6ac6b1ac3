// Parsing and validating a publish request body, independent of HTTP.
//
// POST /send parses its body with parseSendBatch() (send_batch.h), which
// takes a single message here; the WebSocket publish message (ws_protocol.h)
// reads the same fields itself and applies the same validateSend(). Keeping the rules here, away from POCO's request classes,
// lets them be unit-tested and fuzzed directly.
#pragma once

#include <string>

#include "Poco/JSON/Object.h"

namespace rtdemo {

struct SendRequest {
  std::string channel = "demo";
  std::string event;  // empty: no event type
  std::string data;
};

struct SendParse {
  int status = 0;  // 0 when valid, else 400 or 413
  std::string error;
};

// `contentType` selects JSON ("application/json...") or URL-encoded form
// (anything else). `maxDataBytes` bounds the data field.
SendParse parseSendBody(const std::string& contentType, const std::string& body,
                        size_t maxDataBytes, SendRequest* out);

// One message given as a JSON object {channel, event, data} ("message" for
// data), as the JSON body of POST /send holds it and each element of a batch
// does (send_batch.h): absent channel is "demo"; then validateSend().
SendParse readSendObject(const Poco::JSON::Object& obj, size_t maxDataBytes,
                         SendRequest* out);

// The rules applied after parsing, shared by every way to publish.
SendParse validateSend(const SendRequest& request, size_t maxDataBytes);

}  // namespace rtdemo
