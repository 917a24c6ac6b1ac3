// The Durable Streams side of the loadgen's --mode ds (docs/durable-streams.md):
// creating the stream a run reads, the live=sse read request, and taking
// apart what such a reader receives. The readers themselves are
// SseSubscribers (subscriber.h) that speak this instead of /events.
//
// A stream is a channel with metadata, so the publishers need no change:
// their POST /send to the channel is an append to the stream, and the
// readers get it at the next offset. The stream is text/plain, so a data
// event's payload is the concatenation of its range's messages, byte for
// byte; bench payloads ("t=<ns>;seq=<n>;c=<channel>;" padded with 'x', see
// publisher.cc) are cut apart again at each "t=".
//
// Thread-safety: pure functions, except createStream(), which blocks.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <string>

namespace bench {

// PUT /v1/stream/{name} with Content-Type: text/plain, blocking, before any
// reader connects; an existing stream of that type answers 200, which is
// fine too (several loadgens of a group each ask). False with *error set
// on anything but a 2xx.
bool createStream(const sockaddr_in& dst, const std::string& name,
                  std::string* error);

// GET /v1/stream/{name}?offset=...&live=sse: "now" for a reader's first
// request, then the offset of the last control event it got, as a Durable
// Streams client resumes when the server ends a response.
std::string dsReadRequest(const std::string& name, const std::string& offset);

// Calls f(data, len) for each bench payload in a data event's payload.
template <typename F>
void forEachBenchPayload(const std::string& payload, F&& f) {
  size_t at = payload.find("t=");
  while (at != std::string::npos) {
    size_t next = payload.find("t=", at + 2);
    size_t end = next == std::string::npos ? payload.size() : next;
    f(payload.data() + at, end - at);
    at = next;
  }
}

// The streamNextOffset of a control event's JSON into *offset; false if it
// has none.
bool controlNextOffset(const std::string& json, std::string* offset);

}  // namespace bench
