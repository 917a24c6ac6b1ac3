// Token checks on top of Poco::JWT (see jwt_verifier.h).
#include "service/security/jwt_verifier.h"

#include <cmath>
#include <optional>

#include "Poco/Exception.h"
#include "Poco/JSON/Array.h"
#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"

namespace rtdemo {
namespace {

// Reads an optional NumericDate claim; false when present but not a number.
// A present claim is a date whatever its value: 0 is 1970, not "absent".
bool numericClaim(const Poco::JSON::Object& payload, const std::string& name,
                  std::optional<int64_t>* out) {
  out->reset();
  if (!payload.has(name)) return true;
  Poco::Dynamic::Var v = payload.get(name);
  if (!v.isNumeric()) return false;
  double d = v.convert<double>();
  if (!std::isfinite(d) || d < 0 || d > 1e15) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

// Reads an optional array-of-strings claim; false when it has another shape.
bool patternsClaim(const Poco::JSON::Object& payload, const std::string& name,
                   ChannelPatterns* out) {
  if (!payload.has(name)) return true;
  Poco::JSON::Array::Ptr array = payload.getArray(name);
  if (!array) return false;
  std::vector<std::string> patterns;
  for (size_t i = 0; i < array->size(); ++i) {
    Poco::Dynamic::Var v = array->get(static_cast<unsigned>(i));
    if (!v.isString()) return false;
    std::string p = v.convert<std::string>();
    if (p.empty()) return false;
    patterns.push_back(std::move(p));
  }
  *out = ChannelPatterns(std::move(patterns));
  return true;
}

// The token's own text, made fit for an answer and a log line: a reason
// quotes the algorithm a client named, and a newline or a stray UTF-8 byte
// there must not reach either.
std::string printable(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 ||
        static_cast<unsigned char>(c) > 0x7e)
      c = '?';
  return text;
}

TokenCheck refuse(const std::string& why) {
  TokenCheck c;
  c.error = why;
  return c;
}

}  // namespace

bool ChannelPatterns::covers(const std::string& channel) const {
  for (const std::string& p : patterns_) {
    if (p == "*") return true;
    if (p.back() == '*') {
      if (channel.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0 &&
          channel.size() >= p.size() - 1)
        return true;
    } else if (p == channel) {
      return true;
    }
  }
  return false;
}

JwtVerifier::JwtVerifier(std::string secret, std::string algorithm,
                         int leewaySeconds)
    : secret_(std::move(secret)),
      algorithm_(std::move(algorithm)),
      leewaySeconds_(leewaySeconds) {}

TokenCheck JwtVerifier::verify(const std::string& token, int64_t now) const {
  if (token.empty()) return refuse("missing token");
  if (token.size() > kMaxTokenLength) return refuse("malformed token");
  try {
    // Parse first, only to read the header's algorithm: a token must say
    // exactly the configured one. This is what stops `alg: none` and
    // algorithm-confusion tokens before any signature code sees them.
    Poco::JWT::Token unverified(token);
    if (unverified.getAlgorithm() != algorithm_)
      return refuse("token algorithm '" +
                    printable(unverified.getAlgorithm().substr(0, 16)) +
                    "' is not allowed; expected " + algorithm_);
    Poco::JWT::Signer signer(secret_);
    signer.setAlgorithms({algorithm_});
    Poco::JWT::Token verified;
    if (!signer.tryVerify(token, verified))
      return refuse("bad token signature");

    const Poco::JSON::Object& payload = verified.payload();
    TokenCheck check;
    std::optional<int64_t> exp, nbf;
    if (!numericClaim(payload, "exp", &exp) ||
        !numericClaim(payload, "nbf", &nbf))
      return refuse("malformed token claims: exp and nbf must be numbers");
    if (exp && now >= *exp + leewaySeconds_) return refuse("token has expired");
    if (nbf && now + leewaySeconds_ < *nbf)
      return refuse("token is not valid yet");
    if (!patternsClaim(payload, "publish", &check.claims.publish) ||
        !patternsClaim(payload, "subscribe", &check.claims.subscribe))
      return refuse(
          "malformed token claims: publish and subscribe must be arrays of "
          "strings");
    if (payload.has("sub")) {
      Poco::Dynamic::Var sub = payload.get("sub");
      if (sub.isString()) check.claims.subject = sub.convert<std::string>();
    }
    check.claims.expiresAt = exp;
    check.ok = true;
    return check;
  } catch (const Poco::Exception&) {
    return refuse("malformed token");
  } catch (const std::exception&) {
    return refuse("malformed token");
  }
}

std::string JwtVerifier::sign(const TokenClaims& claims, int64_t issuedAt,
                              int64_t notBefore, int64_t expiresAt) const {
  Poco::JWT::Token token;
  token.setType("JWT");
  if (!claims.subject.empty()) token.setSubject(claims.subject);
  // Whole seconds, as RFC 7519 NumericDate is usually written.
  token.payload().set("iat", static_cast<Poco::Int64>(issuedAt));
  if (notBefore != 0)
    token.payload().set("nbf", static_cast<Poco::Int64>(notBefore));
  if (expiresAt != 0)
    token.payload().set("exp", static_cast<Poco::Int64>(expiresAt));
  auto list = [](const ChannelPatterns& p) {
    Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
    for (const std::string& s : p.patterns()) a->add(s);
    return a;
  };
  if (!claims.publish.empty())
    token.payload().set("publish", list(claims.publish));
  if (!claims.subscribe.empty())
    token.payload().set("subscribe", list(claims.subscribe));
  Poco::JWT::Signer signer(secret_);
  signer.setAlgorithms({algorithm_});
  return signer.sign(token, algorithm_);
}

}  // namespace rtdemo
