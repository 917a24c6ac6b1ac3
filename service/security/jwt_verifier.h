// JwtVerifier: checks a bearer token and says what it may do.
//
// A token is a JWT (RFC 7519) signed with HMAC (HS256 by default) under the
// key in rtdemo.auth.jwt.secret. Its payload carries two rtdemo claims, each
// an array of channel patterns:
//   "publish":   channels the holder may POST /send (or WebSocket-publish) to
//   "subscribe": private channels the holder may read (SSE, poll, presence)
// A pattern is an exact channel name, a prefix ending in `*`
// ("team-7:*"), or `*` alone for every channel.
//
// verify() is where every token goes; it refuses (401) a token that is
// missing, not three base64url parts, not JSON, signed with any algorithm
// other than the configured one (`none` included: the algorithm is checked
// before the signature, never taken from the token), badly signed, expired
// (`exp`), not yet valid (`nbf`), or whose claims have the wrong type. A
// present exp or nbf is always checked, 0 included (1970: long expired for
// exp).
// Signature checking is Poco::JWT's (libPocoJWT).
//
// Thread safety: immutable after construction; verify() may run on any
// number of threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rtdemo {

// A list of channel patterns, as found in a claim.
class ChannelPatterns {
 public:
  ChannelPatterns() = default;
  explicit ChannelPatterns(std::vector<std::string> patterns)
      : patterns_(std::move(patterns)) {}
  bool covers(const std::string& channel) const;
  bool empty() const { return patterns_.empty(); }
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;
};

struct TokenClaims {
  std::string subject;  // "sub", for logs; may be empty
  ChannelPatterns publish;
  ChannelPatterns subscribe;
  // "exp", seconds since 1970; none when the token has no exp (it never
  // expires). What a stream authorised by the token may use to end then.
  std::optional<int64_t> expiresAt;
};

struct TokenCheck {
  bool ok = false;
  std::string error;  // why not, safe to send to the client and to log
  TokenClaims claims;
};

class JwtVerifier {
 public:
  // `algorithm` is HS256, HS384 or HS512; `leewaySeconds` is the clock skew
  // tolerated on exp and nbf.
  JwtVerifier(std::string secret, std::string algorithm, int leewaySeconds);

  // `nowSeconds`: the current time, seconds since 1970 (a parameter so that
  // tests need no clock).
  TokenCheck verify(const std::string& token, int64_t nowSeconds) const;

  // Signs `claims` into a token (the token tool and the tests). `notBefore`
  // and `expiresAt` are left out when 0 (claims.expiresAt is not used).
  std::string sign(const TokenClaims& claims, int64_t issuedAt,
                   int64_t notBefore, int64_t expiresAt) const;

 private:
  // Constant after construction.
  const std::string secret_;
  const std::string algorithm_;
  const int leewaySeconds_;
};

// Longest token accepted; anything longer is refused unread.
constexpr size_t kMaxTokenLength = 8192;

}  // namespace rtdemo
