// SecurityCounters: every refusal by reason, and the sessions seen by
// transport, for /metrics (security_metrics.h).
//
// Filled by Security's rules and by the HTTP hooks that apply them
// (http/request_security.h). Relaxed atomics, like HubStats: each is a
// count on its own, read without a lock by a scrape.
#pragma once

#include <atomic>
#include <cstdint>

namespace rtdemo {

struct SecurityCounters {
  std::atomic<uint64_t> unauthorized{0};  // 401: token missing or invalid
  std::atomic<uint64_t> forbidden{0};  // 403: token does not cover the channel
  std::atomic<uint64_t> crossSite{0};  // 403: cookie publish from another site
  std::atomic<uint64_t> preflightRefused{0};  // 403: OPTIONS, unlisted origin
  std::atomic<uint64_t> sendRateLimited{0};    // 429: /send rate per address
  std::atomic<uint64_t> streamsPerAddress{0};  // 429: open streams per address
  std::atomic<uint64_t> streamsTotal{0};       // 503: open streams in total
  std::atomic<uint64_t> channelRefused{0};  // 400: channel over the length limit
  std::atomic<uint64_t> requestLineTooLong{0};  // 414
  std::atomic<uint64_t> headersTooLarge{0};     // 431
  std::atomic<uint64_t> slowHandshakes{0};  // cut off by the handshake deadline
  // Answers that closed the connection instead of keeping it alive.
  std::atomic<uint64_t> keepAliveDeclinedBusy{0};   // every pool thread held
  std::atomic<uint64_t> keepAliveDeclinedPerIp{0};  // address at its limit
  std::atomic<uint64_t> sessionsSse{0};  // sessions seen, by transport
  std::atomic<uint64_t> sessionsPoll{0};
  std::atomic<uint64_t> sessionsSend{0};
  std::atomic<uint64_t> sessionsWs{0};
};

}  // namespace rtdemo
