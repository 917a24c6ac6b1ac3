// The next request on a kept-alive long-poll connection, read by a hub loop.
//
// A long-poll client asks again as soon as it has its answer, on the same
// connection. Handing each of those requests back to the HTTP server costs a
// pool thread, a full request cycle, a stream-limit check and a history read;
// with 5,000 clients and 5 messages a second that was most of the server's
// CPU, and three times Nchan's. So a hub loop reads the next request itself
// when it is a plain re-poll that PollHandler would treat exactly as it
// treated the first one: GET /poll, HTTP/1.1, no body, no upgrade, the same
// Origin (so the same CORS answer) and within the request-size limits.
// Everything else, including any malformed or refused request, goes back to
// the HTTP server unread and gets its usual answer there. The hub also checks
// that the channel is the same public one (hub_poll.cc).
//
// Stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rtdemo {

struct NextPoll {
  std::string channel;
  std::string since;
  int timeoutSeconds = -1;  // -1: not given (the server's default applies)
  bool keepAlive = true;    // false: the client sent Connection: close
  size_t length = 0;        // bytes of the request head, to consume
};

struct NextPollLimits {
  size_t maxBytes = 4096;   // the whole request head
  size_t maxHeaders = 64;
};

enum class NextPollVerdict {
  kIncomplete,  // no complete request head yet (within maxBytes)
  kHandBack,    // a complete request the HTTP server must answer
  kRePoll,      // a re-poll the hub answers; *out is filled
};

// Looks at the bytes a client has sent (not yet consumed) after its last
// answer. `origin` is the Origin header of the connection's first poll ("" if
// it had none).
NextPollVerdict parseNextPoll(std::string_view bytes, const std::string& origin,
                              const NextPollLimits& limits, NextPoll* out);

}  // namespace rtdemo
