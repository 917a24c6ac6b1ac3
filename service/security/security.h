// Security: authentication, cross-origin rules, sessions and limits, in one
// object that the handlers consult at a few fixed points (issue 9; the
// operator's view is the README section "Security").
//
// Where each check happens, in request order:
//   every request      admitRequest(): request line (414) and headers (431);
//                      the handshake deadline (handshake_guard.h); whether
//                      the connection may stay alive after the answer (not
//                      while the pool is busy, nor past the address's
//                      connection limit: Connection: close instead)
//   POST /send         beginSend(): session id, CORS headers, rate per
//                      address (429), token (401), CSRF for cookies (403);
//                      then, once the body is parsed, authorizeSend():
//                      channel length (400) and the token's publish claim
//                      (403). Nothing is stored unless both pass.
//   GET /events, /poll authorizeSubscribe(): session id, CORS headers,
//                      channel length (400), private channels need a token
//                      whose subscribe claim covers them (401/403), before
//                      any history is read: replay is authorised like live
//                      messages. openStream(), just before the socket goes
//                      to the hub: open streams per address (429) and in
//                      total (503), with Retry-After.
//   GET /presence      the same subscribe rules for the channel.
// Every refusal is a JSON error, is counted in SecurityCounters (shown by
// /metrics) and changes nothing.
//
// For other transports (WebSocket), the same rules are available without
// HTTP responses: readCredentials(), checkPublish(), checkSubscribe(),
// admitStream().
//
// Thread safety: every method may be called from any thread; the object is
// created once, before the server starts, and outlives every handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "Poco/Net/HTTPServerRequest.h"
#include "Poco/Net/HTTPServerResponse.h"
#include "service/security/client_address.h"
#include "service/security/connection_limits.h"
#include "service/security/cors.h"
#include "service/security/handshake_guard.h"
#include "service/security/jwt_verifier.h"
#include "service/security/rate_limiter.h"
#include "service/security/security_settings.h"

namespace rtdemo {

// Refusals by reason, for /metrics. Relaxed atomics, like HubStats.
struct SecurityCounters {
  std::atomic<uint64_t> unauthorized{0};  // 401: token missing or invalid
  std::atomic<uint64_t> forbidden{0};  // 403: token does not cover the channel
  std::atomic<uint64_t> crossSite{0};  // 403: cookie publish from another site
  std::atomic<uint64_t> preflightRefused{
      0};  // 403: OPTIONS from an unlisted origin
  std::atomic<uint64_t> sendRateLimited{0};    // 429: /send rate per address
  std::atomic<uint64_t> streamsPerAddress{0};  // 429: open streams per address
  std::atomic<uint64_t> streamsTotal{0};       // 503: open streams in total
  std::atomic<uint64_t> channelRefused{
      0};  // 400: channel over the length limit
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

// A bearer token as presented by a request.
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

// What beginSend() learned, for authorizeSend().
struct SendAuth {
  std::string session;
  std::string address;
  bool checked = false;  // publish auth is on and the token verified
  TokenClaims claims;
};

// What authorizeSubscribe() learned, for openStream().
struct SubscribeAuth {
  SubscribeAuth() = default;
  SubscribeAuth(std::string session, std::string address,
                std::string transport)
      : session(std::move(session)),
        address(std::move(address)),
        transport(std::move(transport)) {}

  std::string session;
  std::string address;
  std::string transport;
  // As Verdict::tokenExpiresAt: when the token that allowed this private
  // channel expires; none for a public channel or a token without exp.
  std::optional<int64_t> tokenExpiresAt;
};

class Security {
 public:
  Security(SecuritySettings settings, TrustedProxies trustedProxies);
  ~Security();

  const SecuritySettings& settings() const { return settings_; }
  SecurityCounters& counters() { return counters_; }
  const CorsPolicy& cors() const { return cors_; }
  HandshakeWatchdog& watchdog() { return watchdog_; }

  // Starts and stops the handshake watchdog thread.
  void start();
  void stop();

  // ---- HTTP handler hooks (answer the refusal themselves; false = stop) --

  bool admitRequest(Poco::Net::HTTPServerRequest& request,
                    Poco::Net::HTTPServerResponse& response);
  void finishRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response);

  bool beginSend(Poco::Net::HTTPServerRequest& request,
                 Poco::Net::HTTPServerResponse& response, SendAuth* auth);
  bool authorizeSend(const SendAuth& auth, const std::string& channel,
                     Poco::Net::HTTPServerResponse& response);

  // `transport`: "sse", "poll", "ws" or "presence".
  bool authorizeSubscribe(Poco::Net::HTTPServerRequest& request,
                          Poco::Net::HTTPServerResponse& response,
                          const std::string& channel,
                          const std::string& transport, SubscribeAuth* auth);
  bool openStream(Poco::Net::HTTPServerRequest& request,
                  Poco::Net::HTTPServerResponse& response,
                  const SubscribeAuth& auth, const std::string& channel);

  // ---- Transport-neutral rules (WebSocket) --------------------------------

  // The token a request carries: Authorization: Bearer wins over the cookie.
  Credentials readCredentials(
      const Poco::Net::HTTPServerRequest& request) const;
  // Publishing `channel` with `credentials` (401/403; 0 when auth is off).
  // For a cookie, the caller must also have checked the Origin
  // (originAllowedForCookie) at the upgrade. An allowing verdict carries
  // the token's tokenExpiresAt.
  Verdict checkPublish(const Credentials& credentials,
                       const std::string& channel);
  // Reading `channel` (private channels need a subscribe claim). An
  // allowing verdict on a private channel carries the token's
  // tokenExpiresAt: the subscription should end then.
  Verdict checkSubscribe(const Credentials& credentials,
                         const std::string& channel);
  // The CSRF rule for a request authenticated by cookie ("" = allowed).
  std::string originAllowedForCookie(
      const Poco::Net::HTTPServerRequest& request) const {
    return cors_.checkCookieRequest(request);
  }
  // Counts a long-lived connection against the stream limits (429/503).
  Verdict admitStream(int fd, const Subscriber& who);
  // The per-address publish rate, for publishes that do not come through
  // beginSend() (429 with retryAfterSeconds; counted).
  Verdict admitPublish(const std::string& address);

  // The client address (client_address.h). Per-address limits count it by
  // limitUnit(): an IPv6 client by its /64.
  std::string clientAddressOf(
      const Poco::Net::HTTPServerRequest& request) const;
  // This connection's session id (stable over keep-alive requests).
  std::string sessionFor(const Poco::Net::HTTPServerRequest& request);

  ConnectionLimits& connections() { return connections_; }
  bool isPrivate(const std::string& channel) const;

 private:
  bool exempt(const std::string& address) const;
  void refuse(Poco::Net::HTTPServerResponse& response, const Verdict& verdict,
              const std::string& what, const std::string& session,
              const std::string& address);
  Verdict checkToken(const Credentials& credentials, TokenCheck* out);
  // Before the answer: turns keep-alive off when the connection may not
  // idle on its pool thread afterwards.
  void decideKeepAlive(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response,
                       GuardedConnectionState* conn);

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

// The security lines of GET /metrics, in Prometheus text format.
std::string securityMetrics(Security& security);

}  // namespace rtdemo
