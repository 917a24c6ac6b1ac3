// libFuzzer target: bearer tokens (service/security/jwt_verifier.h), which any client
// may send in Authorization or the token cookie. Besides crashes and
// sanitizer reports it checks the contract:
//   - verify() never throws; a refusal has a reason that is printable ASCII
//     and short (it goes into the JSON answer and into a log line, so no
//     control character of the token may reach either);
//   - a token is accepted only under the configured algorithm, and then its
//     claims are well formed: non-empty patterns, an expiry exactly when
//     the payload has exp, and an expiry that has not passed;
//   - a token whose signature is made with another key is refused.
//
// Input layout: byte 0 picks the mode (bit 0: the rest is a whole token as
// sent; else the rest is a payload that the target signs correctly, so the
// claim checks are reached), the header's algorithm (bits 1-2) and the
// clock (bits 3-4); the rest is the token or the payload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "Poco/JSON/Parser.h"
#include "Poco/SHA2Engine.h"
#include "service/security/jwt_verifier.h"
#include "tests/support/base64url.h"

namespace {

const std::string kSecret = "fuzz-secret-0123456789-abcdefghijkl";

using rtdemo::b64url;

// HMAC-SHA256 (RFC 2104) over POCO's SHA-256; the key is shorter than the
// 64-byte block. Written out because HMACEngine needs an engine with a fixed
// digest size, which POCO 1.11's SHA2Engine does not declare.
std::string hs256(const std::string& key, const std::string& input) {
  std::string ipad(64, '\x36'), opad(64, '\x5c');
  for (size_t i = 0; i < key.size(); ++i) ipad[i] ^= key[i], opad[i] ^= key[i];
  auto sha = [](const std::string& a, const std::string& b) {
    Poco::SHA2Engine e(Poco::SHA2Engine::SHA_256);
    e.update(a);
    e.update(b);
    const Poco::DigestEngine::Digest& d = e.digest();
    return std::string(d.begin(), d.end());
  };
  return b64url(sha(opad, sha(ipad, input)));
}

bool safeReason(const std::string& error) {
  if (error.empty() || error.size() > 200) return false;
  for (unsigned char c : error)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// Whether the payload is a JSON object with an "exp" member (Poco's parser,
// as the verifier's; 0 when it is not an object at all).
int payloadHasExp(const std::string& payload) {
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var v = parser.parse(payload);
    Poco::JSON::Object::Ptr o = v.extract<Poco::JSON::Object::Ptr>();
    return o->has("exp") ? 1 : -1;
  } catch (...) {
    return 0;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  static const char* const kAlgs[] = {"HS256", "HS512", "none", "RS256"};
  static const int64_t kNows[] = {0, 1, 1800000000, 999999999999999};
  const bool raw = bytes[0] & 1;
  const std::string alg = kAlgs[(bytes[0] >> 1) & 3];
  const int64_t now = kNows[(bytes[0] >> 3) & 3];
  const std::string rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  rtdemo::JwtVerifier verifier(kSecret, "HS256", 30);
  std::string token;
  if (raw) {
    token = rest;
  } else {
    std::string signingInput =
        b64url("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}") + "." + b64url(rest);
    token = signingInput + "." + hs256(kSecret, signingInput);
    // The same token signed with another key is never accepted.
    std::string forged = signingInput + "." + hs256(kSecret + "x", signingInput);
    rtdemo::TokenCheck f;
    try {
      f = verifier.verify(forged, now);
    } catch (...) {
      std::abort();
    }
    if (f.ok || !safeReason(f.error)) std::abort();
  }

  rtdemo::TokenCheck check;
  try {
    check = verifier.verify(token, now);
  } catch (...) {
    std::abort();  // verify() must turn every failure into a refusal
  }
  if (!check.ok) {
    if (!safeReason(check.error)) std::abort();
    return 0;
  }
  if (!raw && alg != "HS256") std::abort();
  for (const auto* patterns : {&check.claims.publish, &check.claims.subscribe})
    for (const std::string& p : patterns->patterns())
      if (p.empty()) std::abort();
  if (check.claims.expiresAt && now >= *check.claims.expiresAt + 30) std::abort();
  if (!raw) {
    int hasExp = payloadHasExp(rest);
    if (hasExp == 0) std::abort();  // accepted, so it was an object
    if ((hasExp == 1) != check.claims.expiresAt.has_value()) std::abort();
  }
  return 0;
}
