// Reading and checking the security keys (see security_settings.h).
#include "service/security/security_settings.h"

#include <fstream>
#include <sstream>

#include "Poco/NumberParser.h"
#include "Poco/String.h"
#include "Poco/StringTokenizer.h"

namespace rtdemo {
namespace {

Status bad(const std::string& key, const std::string& value,
           const std::string& expected) {
  return Status::InvalidArgument("bad value '" + value + "' for " + key +
                                 ": expected " + expected);
}

// Each reader leaves *out alone when the key is absent.
Status readSize(const Poco::Util::AbstractConfiguration& c,
                const std::string& key, int64_t min, int64_t max, size_t* out) {
  if (!c.hasProperty(key)) return Status::OK();
  std::string raw = Poco::trim(c.getRawString(key));
  Poco::Int64 v = 0;
  if (!Poco::NumberParser::tryParse64(raw, v) || v < min || v > max)
    return bad(
        key, raw,
        "a number from " + std::to_string(min) + " to " + std::to_string(max));
  *out = static_cast<size_t>(v);
  return Status::OK();
}

Status readInt(const Poco::Util::AbstractConfiguration& c,
               const std::string& key, int min, int max, int* out) {
  size_t v = static_cast<size_t>(*out);
  Status s = readSize(c, key, min, max, &v);
  *out = static_cast<int>(v);
  return s;
}

Status readDouble(const Poco::Util::AbstractConfiguration& c,
                  const std::string& key, double min, double max, double* out) {
  if (!c.hasProperty(key)) return Status::OK();
  std::string raw = Poco::trim(c.getRawString(key));
  double v = 0;
  if (!Poco::NumberParser::tryParseFloat(raw, v) || !(v >= min && v <= max))
    return bad(
        key, raw,
        "a number from " + std::to_string(min) + " to " + std::to_string(max));
  *out = v;
  return Status::OK();
}

Status readBool(const Poco::Util::AbstractConfiguration& c,
                const std::string& key, bool* out) {
  if (!c.hasProperty(key)) return Status::OK();
  std::string raw = Poco::toLower(Poco::trim(c.getRawString(key)));
  if (raw == "on" || raw == "true" || raw == "yes")
    *out = true;
  else if (raw == "off" || raw == "false" || raw == "no")
    *out = false;
  else
    return bad(key, raw, "on or off");
  return Status::OK();
}

std::string readText(const Poco::Util::AbstractConfiguration& c,
                     const std::string& key, const std::string& dflt) {
  return c.hasProperty(key) ? Poco::trim(c.getString(key)) : dflt;
}

// An origin as browsers send it: scheme://host[:port], nothing after.
bool isOrigin(const std::string& o) {
  size_t sep = o.find("://");
  if (sep == std::string::npos || sep == 0 || sep + 3 >= o.size()) return false;
  for (size_t i = sep + 3; i < o.size(); ++i) {
    char ch = o[i];
    if (ch == '/' || ch == '?' || ch == '#' || ch == ' ' || ch == ',' ||
        static_cast<unsigned char>(ch) < 0x21 ||
        static_cast<unsigned char>(ch) > 0x7e)
      return false;
  }
  return true;
}

}  // namespace

Status loadSecuritySettings(const Poco::Util::AbstractConfiguration& c,
                            SecuritySettings* out) {
  SecuritySettings s;
  Status st;
#define RTDEMO_TRY(expr) \
  if (!(st = (expr)).ok()) return st

  s.publishAuth =
      Poco::toLower(readText(c, "rtdemo.auth.publish", s.publishAuth));
  if (s.publishAuth != "none" && s.publishAuth != "jwt")
    return bad("rtdemo.auth.publish", s.publishAuth, "none or jwt");
  s.jwtAlgorithm = readText(c, "rtdemo.auth.jwt.algorithm", s.jwtAlgorithm);
  if (s.jwtAlgorithm != "HS256" && s.jwtAlgorithm != "HS384" &&
      s.jwtAlgorithm != "HS512")
    return bad("rtdemo.auth.jwt.algorithm", s.jwtAlgorithm,
               "HS256, HS384 or HS512");
  s.jwtSecret = readText(c, "rtdemo.auth.jwt.secret", "");
  std::string keyFile = readText(c, "rtdemo.auth.jwt.secret-file", "");
  if (!keyFile.empty()) {
    if (!s.jwtSecret.empty())
      return bad("rtdemo.auth.jwt.secret-file", keyFile,
                 "either rtdemo.auth.jwt.secret or a key file, not both");
    std::ifstream in(keyFile, std::ios::binary);
    if (!in)
      return bad("rtdemo.auth.jwt.secret-file", keyFile, "a readable file");
    std::stringstream content;
    content << in.rdbuf();
    // A trailing newline from an editor or `echo` is not part of the key.
    s.jwtSecret = content.str();
    while (!s.jwtSecret.empty() &&
           (s.jwtSecret.back() == '\n' || s.jwtSecret.back() == '\r'))
      s.jwtSecret.pop_back();
  }
  RTDEMO_TRY(readInt(c, "rtdemo.auth.jwt.leeway.seconds", 0, 3600,
                     &s.jwtLeewaySeconds));
  s.privatePrefix = readText(c, "rtdemo.auth.private-prefix", "");
  s.tokenCookie = readText(c, "rtdemo.auth.cookie", s.tokenCookie);
  if (s.tokenCookie.empty() ||
      s.tokenCookie.find_first_of(" ;=,\t\"") != std::string::npos)
    return bad("rtdemo.auth.cookie", s.tokenCookie, "a cookie name");
  // A token is only as strong as its key: HMAC with a short secret falls to
  // an offline guess from any one token, so refuse to start with one.
  if ((s.jwtEnabled() || s.hasPrivateChannels()) && s.jwtSecret.size() < 32)
    return bad(
        "rtdemo.auth.jwt.secret", s.jwtSecret.empty() ? "" : "(hidden)",
        "a secret of at least 32 bytes (or rtdemo.auth.jwt.secret-file) when "
        "rtdemo.auth.publish = jwt or rtdemo.auth.private-prefix is set");

  RTDEMO_TRY(readBool(c, "rtdemo.presence", &s.presence));

  std::string origins = readText(c, "rtdemo.cors.origins", "");
  Poco::StringTokenizer tok(origins, ",",
                            Poco::StringTokenizer::TOK_TRIM |
                                Poco::StringTokenizer::TOK_IGNORE_EMPTY);
  for (const std::string& o : tok) {
    if (o != "*" && !isOrigin(o))
      return bad("rtdemo.cors.origins", o,
                 "origins such as https://app.example.com, or *");
    s.corsOrigins.push_back(o);
  }
  RTDEMO_TRY(readBool(c, "rtdemo.cors.credentials", &s.corsCredentials));
  for (const std::string& o : s.corsOrigins) {
    // Browsers refuse `*` with credentials anyway; allowing it would also
    // let any site ride a visitor's cookie, so it is a configuration error.
    if (o == "*" && s.corsCredentials)
      return bad("rtdemo.cors.origins", "*",
                 "a list of origins: * is not allowed with "
                 "rtdemo.cors.credentials = on");
  }
  RTDEMO_TRY(readInt(c, "rtdemo.cors.max-age.seconds", 0, 86400,
                     &s.corsMaxAgeSeconds));

  RTDEMO_TRY(readSize(c, "rtdemo.limits.request-line.bytes", 64, 16384,
                      &s.requestLineMaxBytes));
  RTDEMO_TRY(readSize(c, "rtdemo.limits.header.bytes", 256, 1 << 20,
                      &s.headerMaxBytes));
  RTDEMO_TRY(
      readSize(c, "rtdemo.limits.header.count", 4, 100, &s.headerMaxCount));
  RTDEMO_TRY(readSize(c, "rtdemo.limits.channel.max-length", 1, 64,
                      &s.channelMaxLength));
  RTDEMO_TRY(readSize(c, "rtdemo.limits.streams.per-ip", 0, 10000000,
                      &s.streamsPerIp));
  RTDEMO_TRY(
      readSize(c, "rtdemo.limits.streams.total", 0, 10000000, &s.streamsTotal));
  RTDEMO_TRY(
      readDouble(c, "rtdemo.limits.send.rate", 0, 1e9, &s.sendRatePerIp));
  RTDEMO_TRY(
      readDouble(c, "rtdemo.limits.send.burst", 1, 1e9, &s.sendBurstPerIp));
  RTDEMO_TRY(readInt(c, "rtdemo.limits.retry-after.seconds", 1, 3600,
                     &s.retryAfterSeconds));
  RTDEMO_TRY(readInt(c, "rtdemo.limits.handshake.seconds", 0, 3600,
                     &s.handshakeSeconds));
  RTDEMO_TRY(readInt(c, "rtdemo.limits.keep-alive.idle-percent", 0, 100,
                     &s.keepAliveIdlePercent));
  s.limitsExemptText = readText(c, "rtdemo.limits.exempt", s.limitsExemptText);
  if (!TrustedProxies::parse(s.limitsExemptText, &s.limitsExempt).ok())
    return bad("rtdemo.limits.exempt", s.limitsExemptText,
               "comma-separated IP addresses or CIDR ranges (may be empty)");
#undef RTDEMO_TRY
  *out = std::move(s);
  return Status::OK();
}

}  // namespace rtdemo
