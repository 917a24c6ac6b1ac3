// SecuritySettings: the rtdemo.auth.*, rtdemo.cors.*, rtdemo.presence and
// rtdemo.limits.* keys (issue 9), read and checked in one place.
//
// Kept apart from settings.h so that the exposure-related keys, their
// defaults and their checks read as one unit; loadSettings() calls
// loadSecuritySettings() and stores the result in Settings::security.
// Every default here is the documented default of etc/rtdemo.properties
// (section AUTH AND LIMITS): authentication off, presence off, no
// cross-origin access, and limits that a small server survives but the demo
// page and the benchmark never reach.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "Poco/Util/AbstractConfiguration.h"
#include "service/security/client_address.h"
#include "storage/status.h"

namespace rtdemo {

struct SecuritySettings {
  // Authentication. publishAuth: "none" or "jwt".
  std::string publishAuth = "none";
  std::string jwtSecret;  // the HMAC key (secret, or secret-file's content)
  std::string jwtAlgorithm = "HS256";  // the only algorithm tokens may use
  int jwtLeewaySeconds = 30;           // clock skew allowed on exp and nbf
  // Channels starting with this prefix need a subscribe claim; empty: none.
  std::string privatePrefix;
  std::string tokenCookie = "rtdemo_token";  // cookie that may carry a token

  // Presence: GET /presence?channel=C.
  bool presence = false;

  // CORS. An empty list allows no cross-origin reads (same origin only).
  std::vector<std::string> corsOrigins;  // exact origins, or "*"
  bool corsCredentials = false;          // Access-Control-Allow-Credentials
  int corsMaxAgeSeconds = 600;           // preflight cache

  // Limits. 0 turns a count or rate limit off.
  size_t requestLineMaxBytes = 8192;  // 414
  size_t headerMaxBytes = 16384;      // 431, all header lines together
  size_t headerMaxCount = 64;         // 431
  size_t channelMaxLength = 64;       // 400 (never above the protocol's 64)
  size_t streamsPerIp = 1000;         // 429: SSE streams and held polls
  size_t streamsTotal = 50000;        // 503
  double sendRatePerIp = 20;          // 429: POST /send per second, per IP
  double sendBurstPerIp = 100;        // bucket size
  int retryAfterSeconds = 5;          // Retry-After on stream refusals
  int handshakeSeconds = 10;          // a request head must arrive this fast
  // The share of rtdemo.http.threads, in percent, that HTTP connections
  // idling between requests may hold (handshake_watchdog.h).
  int keepAliveIdlePercent = 50;
  // Client addresses the per-IP limits do not apply to (loopback by
  // default, so the benchmark's 127.0.0.0/8 clients are never limited).
  TrustedProxies limitsExempt;
  std::string limitsExemptText = "127.0.0.0/8, ::1";

  bool jwtEnabled() const { return publishAuth == "jwt"; }
  bool hasPrivateChannels() const { return !privatePrefix.empty(); }
};

// Reads every key above. On error returns InvalidArgument naming the key,
// the bad value and what is expected; *out is then unchanged.
Status loadSecuritySettings(const Poco::Util::AbstractConfiguration& config,
                            SecuritySettings* out);

}  // namespace rtdemo
