// The SSE rendering of a Durable Streams read (live=sse,
// docs/durable-streams.md): `event: data` carries a range's payload,
// `event: control` the offset after it, the cursor and the up-to-date and
// closed flags, as JSON.
//
// A payload is split into one `data:` line per line of it, at LF, CRLF and
// a lone CR alike, so that no byte sequence in an append can end an event
// or start a forged one. Binary streams send their payload base64-encoded
// (standard alphabet, one line), and answer Stream-SSE-Data-Encoding:
// base64.
//
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace rtdemo {

// "event: data\ndata:...\n\n"; `base64` encodes `payload` first.
std::string encodeStreamDataEvent(std::string_view payload, bool base64);

struct StreamControl {
  std::string nextOffset;
  std::string cursor;  // left out when `closed`
  bool upToDate = false;
  bool closed = false;
};

// "event: control\ndata:{...}\n\n".
std::string encodeStreamControlEvent(const StreamControl& control);

}  // namespace rtdemo
