// Reading and checking the security keys (see security_settings.h).
#include "service/security/security_settings.h"

#include <fstream>
#include <sstream>

#include "Poco/String.h"
#include "Poco/StringTokenizer.h"
#include "service/config/config_reader.h"

namespace rtdemo {
namespace {

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
  ConfigReader r(c);

  r.text("rtdemo.auth.publish", &s.publishAuth);
  s.publishAuth = Poco::toLower(s.publishAuth);
  if (s.publishAuth != "none" && s.publishAuth != "jwt")
    r.fail("rtdemo.auth.publish", s.publishAuth, "none or jwt");
  r.text("rtdemo.auth.jwt.algorithm", &s.jwtAlgorithm);
  if (s.jwtAlgorithm != "HS256" && s.jwtAlgorithm != "HS384" &&
      s.jwtAlgorithm != "HS512")
    r.fail("rtdemo.auth.jwt.algorithm", s.jwtAlgorithm,
           "HS256, HS384 or HS512");
  r.text("rtdemo.auth.jwt.secret", &s.jwtSecret);
  std::string keyFile;
  r.text("rtdemo.auth.jwt.secret-file", &keyFile);
  if (r.ok() && !keyFile.empty()) {
    if (!s.jwtSecret.empty())
      r.fail("rtdemo.auth.jwt.secret-file", keyFile,
             "either rtdemo.auth.jwt.secret or a key file, not both");
    std::ifstream in;
    if (r.ok()) in.open(keyFile, std::ios::binary);
    if (r.ok() && !in)
      r.fail("rtdemo.auth.jwt.secret-file", keyFile, "a readable file");
    if (r.ok()) {
      std::stringstream content;
      content << in.rdbuf();
      // A trailing newline from an editor or `echo` is not part of the key.
      s.jwtSecret = content.str();
      while (!s.jwtSecret.empty() &&
             (s.jwtSecret.back() == '\n' || s.jwtSecret.back() == '\r'))
        s.jwtSecret.pop_back();
    }
  }
  r.integer("rtdemo.auth.jwt.leeway.seconds", 0, 3600, &s.jwtLeewaySeconds);
  r.text("rtdemo.auth.private-prefix", &s.privatePrefix);
  r.text("rtdemo.auth.cookie", &s.tokenCookie);
  if (s.tokenCookie.empty() ||
      s.tokenCookie.find_first_of(" ;=,\t\"") != std::string::npos)
    r.fail("rtdemo.auth.cookie", s.tokenCookie, "a cookie name");
  // A token is only as strong as its key: HMAC with a short secret falls to
  // an offline guess from any one token, so refuse to start with one.
  if ((s.jwtEnabled() || s.hasPrivateChannels()) && s.jwtSecret.size() < 32)
    r.fail("rtdemo.auth.jwt.secret", s.jwtSecret.empty() ? "" : "(hidden)",
           "a secret of at least 32 bytes (or rtdemo.auth.jwt.secret-file) when "
           "rtdemo.auth.publish = jwt or rtdemo.auth.private-prefix is set");

  r.boolean("rtdemo.presence", &s.presence);

  std::string origins;
  r.text("rtdemo.cors.origins", &origins);
  Poco::StringTokenizer tok(origins, ",",
                            Poco::StringTokenizer::TOK_TRIM |
                                Poco::StringTokenizer::TOK_IGNORE_EMPTY);
  for (const std::string& o : tok) {
    if (o != "*" && !isOrigin(o))
      r.fail("rtdemo.cors.origins", o,
             "origins such as https://app.example.com, or *");
    s.corsOrigins.push_back(o);
  }
  r.boolean("rtdemo.cors.credentials", &s.corsCredentials);
  for (const std::string& o : s.corsOrigins) {
    // Browsers refuse `*` with credentials anyway; allowing it would also
    // let any site ride a visitor's cookie, so it is a configuration error.
    if (o == "*" && s.corsCredentials)
      r.fail("rtdemo.cors.origins", "*",
             "a list of origins: * is not allowed with "
             "rtdemo.cors.credentials = on");
  }
  r.integer("rtdemo.cors.max-age.seconds", 0, 86400, &s.corsMaxAgeSeconds);

  r.size("rtdemo.limits.request-line.bytes", 64, 16384, &s.requestLineMaxBytes);
  r.size("rtdemo.limits.header.bytes", 256, 1 << 20, &s.headerMaxBytes);
  r.size("rtdemo.limits.header.count", 4, 100, &s.headerMaxCount);
  r.size("rtdemo.limits.channel.max-length", 1, 64, &s.channelMaxLength);
  r.size("rtdemo.limits.streams.per-ip", 0, 10000000, &s.streamsPerIp);
  r.size("rtdemo.limits.streams.total", 0, 10000000, &s.streamsTotal);
  r.decimal("rtdemo.limits.send.rate", 0, 1e9, &s.sendRatePerIp);
  r.decimal("rtdemo.limits.send.burst", 1, 1e9, &s.sendBurstPerIp);
  r.integer("rtdemo.limits.retry-after.seconds", 1, 3600, &s.retryAfterSeconds);
  r.integer("rtdemo.limits.handshake.seconds", 0, 3600, &s.handshakeSeconds);
  r.integer("rtdemo.limits.keep-alive.idle-percent", 0, 100,
            &s.keepAliveIdlePercent);
  r.text("rtdemo.limits.exempt", &s.limitsExemptText);
  if (r.ok() && !TrustedProxies::parse(s.limitsExemptText, &s.limitsExempt).ok())
    r.fail("rtdemo.limits.exempt", s.limitsExemptText,
           "comma-separated IP addresses or CIDR ranges (may be empty)");
  if (!r.ok()) return r.status();
  *out = std::move(s);
  return Status::OK();
}

}  // namespace rtdemo
