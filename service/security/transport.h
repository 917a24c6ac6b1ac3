// Transport: the ways a client reaches rtdemo, as the security rules and
// their counters tell them apart.
//
// transportName() is the label a transport has everywhere it is shown: the
// presence lists of GET /presence, ConnectionLimits' Subscriber::transport,
// log lines.
#pragma once

namespace rtdemo {

enum class Transport {
  kSse,        // GET /events
  kPoll,       // GET /poll
  kWebSocket,  // GET /ws
  kPresence,   // GET /presence (reads the subscribers; holds nothing)
  kHttp,       // an HTTP connection kept alive between requests
};

// "sse", "poll", "ws", "presence", "http".
constexpr const char* transportName(Transport t) {
  switch (t) {
    case Transport::kSse:
      return "sse";
    case Transport::kPoll:
      return "poll";
    case Transport::kWebSocket:
      return "ws";
    case Transport::kPresence:
      return "presence";
    case Transport::kHttp:
      return "http";
  }
  return "?";
}

}  // namespace rtdemo
