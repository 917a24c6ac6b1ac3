// Server-Sent Events encoding (WHATWG HTML, "Server-sent events").
//
// Every byte a subscriber's EventSource parses comes from here. The rules that
// keep a payload from injecting fields or events:
//   - data is split on CRLF, lone CR and lone LF, each piece its own "data:"
//     line, so no payload byte can end a line early;
//   - id and event come from validated names (service/protocol/validation.h) and are
//     checked again here, because a NUL in an id makes browsers ignore it and
//     a line break in either would start a new field.
// Each message is encoded once and the same bytes are shared by every
// subscriber (see service/hub/hub.h).
#pragma once

#include <cstdint>
#include <string>

#include "storage/message.h"

namespace rtdemo {
namespace sse {

// "id: ...\n[event: ...\n]data: ...\n...\n" followed by the blank line.
std::string encodeMessage(const Message& message);

// The first bytes of every stream: a comment so proxies flush the headers at
// once, and the reconnect delay for EventSource.
std::string encodePreamble(int retryMs);

// A named "heartbeat" event whose data is the server time in milliseconds.
std::string encodeHeartbeat(int64_t nowMs);

// The explicit "your cursor cannot be served" event. Its id moves the
// browser's Last-Event-ID into the current epoch so that a reconnect before
// the next message does not reset again.
std::string encodeReset(const std::string& epochStartId,
                        const std::string& oldest, const std::string& reason);

// The "token-expired" event that ends a stream of a private channel when
// the token that allowed it expires: {"error":"token expired","channel":C}.
// It carries no id, so a reconnect resumes after the last message.
std::string encodeTokenExpired(const std::string& channel);

// Appends `value` as one or more "<field>: " lines, splitting on CR, LF and
// CRLF. Exposed for tests.
void appendField(std::string* out, const char* field, const std::string& value);

}  // namespace sse
}  // namespace rtdemo
