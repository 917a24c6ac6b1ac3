// Security: the transport-neutral rules of who may publish or subscribe to
// what, and the limits on how much (issue 9; the operator's view is the
// README section "Security").
//
// Each transport asks the same rules with what it learned from its client
// (its token, its address, the channel); none of them needs HTTP:
//   checkRequestHead() the request line (414) and header fields (431)
//   checkChannel()     the channel is within the length limit (400)
//   checkPublish()     the token may publish to the channel (401/403; 0
//                      when publish auth is off)
//   checkSubscribe()   a private channel needs a token whose subscribe
//                      claim covers it (401/403), replay included
//   admitPublish()     publishes per address and second (429)
//   admitStream()      open streams per address (429) and in total (503)
// An allowing verdict carries the expiry of the token that allowed it, so a
// subscription can end when its token does.
//
// Where they are asked: for HTTP requests, by the admission hooks of
// http/request_security.h, which also answer each refusal (a JSON error)
// and count it; for a WebSocket's later subscribe and publish messages,
// through the hub's WsGate (http/ws_handler.cc). Every refusal is counted in
// SecurityCounters (security_counters.h, shown by /metrics through
// security_metrics.h) and changes nothing.
//
// Thread safety: every method may be called from any thread; the object is
// created once, before the server starts, and outlives every handler.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "service/security/client_address.h"
#include "service/security/connection_limits.h"
#include "service/security/cors.h"
#include "service/security/handshake_watchdog.h"
#include "service/security/jwt_verifier.h"
#include "service/security/rate_limiter.h"
#include "service/security/security_counters.h"
#include "service/security/security_settings.h"

namespace rtdemo {

// A bearer token as presented by a client.
struct Credentials {
  enum class Source { kNone, kHeader, kCookie };
  Source source = Source::kNone;
  std::string token;
  std::string malformed;  // non-empty: an Authorization header we cannot use
};

// The outcome of a check: 0 when allowed, else an HTTP status and a reason.
struct Verdict {
  Verdict() = default;
  Verdict(int status, std::string error, int retryAfterSeconds = 0)
      : status(status),
        error(std::move(error)),
        retryAfterSeconds(retryAfterSeconds) {}

  int status = 0;
  std::string error;
  int retryAfterSeconds = 0;  // for 429 and 503
  // Allowed by a token that expires then (its exp, seconds since 1970):
  // whatever it allowed should end at that time. None when no token was
  // needed (a public channel, auth off) or the token has no exp.
  std::optional<int64_t> tokenExpiresAt;
  bool ok() const { return status == 0; }
};

class Security {
 public:
  // `trustedProxies`: the peers allowed to name the client
  // (client_address.h), for whoever reads a client's address.
  Security(SecuritySettings settings, TrustedProxies trustedProxies);
  ~Security();

  const SecuritySettings& settings() const { return settings_; }
  const TrustedProxies& trustedProxies() const { return trustedProxies_; }
  SecurityCounters& counters() { return counters_; }
  const CorsPolicy& cors() const { return cors_; }
  HandshakeWatchdog& watchdog() { return watchdog_; }
  ConnectionLimits& connections() { return connections_; }

  // Starts and stops the handshake watchdog thread.
  void start();
  void stop();

  // The sizes of a request head: its request line, its header fields and
  // their bytes (414/431; counted).
  Verdict checkRequestHead(size_t lineBytes, size_t fieldCount,
                           size_t fieldBytes);
  // The channel length limit (400; counted).
  Verdict checkChannel(const std::string& channel);
  // Verifies the token itself (401, not counted): *out holds its claims.
  Verdict checkToken(const Credentials& credentials, TokenCheck* out);
  // Publishing `channel` with `credentials` (401/403, not counted; 0 when
  // auth is off). For a cookie, the caller must also have checked the
  // Origin (CorsPolicy::checkCookieRequest). An allowing verdict carries
  // the token's tokenExpiresAt.
  Verdict checkPublish(const Credentials& credentials,
                       const std::string& channel);
  // Reading `channel` (private channels need a subscribe claim; 401/403,
  // not counted). An allowing verdict on a private channel carries the
  // token's tokenExpiresAt: the subscription should end then.
  Verdict checkSubscribe(const Credentials& credentials,
                         const std::string& channel);
  // Counts a long-lived connection on socket `fd` against the stream
  // limits (429/503 with retryAfterSeconds; counted).
  Verdict admitStream(int fd, const Subscriber& who);
  // The per-address publish rate (429 with retryAfterSeconds; counted).
  Verdict admitPublish(const std::string& address);

  bool isPrivate(const std::string& channel) const;
  // True when the per-address limits do not apply to `address`
  // (rtdemo.limits.exempt).
  bool exempt(const std::string& address) const;

 private:
  // Constant after construction.
  const SecuritySettings settings_;
  const TrustedProxies trustedProxies_;
  const CorsPolicy cors_;
  const std::unique_ptr<JwtVerifier> verifier_;  // null: no key configured

  SecurityCounters counters_;
  RateLimiter sendRate_;
  ConnectionLimits connections_;
  HandshakeWatchdog watchdog_;
};

}  // namespace rtdemo
