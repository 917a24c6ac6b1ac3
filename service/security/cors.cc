// The CORS headers, the preflight rule and the CSRF origin check (see
// cors.h).
#include "service/security/cors.h"

#include <algorithm>

#include "Poco/String.h"
#include "service/security/session_id.h"

namespace rtdemo {
namespace {

// host[:port] of an origin, lower case; "" when it is not one.
std::string originAuthority(const std::string& origin) {
  size_t sep = origin.find("://");
  if (sep == std::string::npos) return "";
  return Poco::toLower(origin.substr(sep + 3));
}

}  // namespace

CorsPolicy::CorsPolicy(const SecuritySettings& settings) : settings_(settings) {
  wildcard_ =
      std::find(settings_.corsOrigins.begin(), settings_.corsOrigins.end(),
                "*") != settings_.corsOrigins.end();
}

bool CorsPolicy::listed(const std::string& origin) const {
  if (origin.empty()) return false;
  if (wildcard_ && !settings_.corsCredentials) return true;
  for (const std::string& o : settings_.corsOrigins)
    if (Poco::icompare(o, origin) == 0) return true;
  return false;
}

bool CorsPolicy::sameOrigin(const std::string& origin, const std::string& host) {
  if (origin.empty() || host.empty()) return false;
  // The scheme is not compared: behind a TLS proxy the browser says https
  // while rtdemo itself speaks http. Host and port must match exactly.
  return originAuthority(origin) == Poco::toLower(host);
}

HeaderList CorsPolicy::allowHeaders(const std::string& origin) const {
  HeaderList out;
  if (!listed(origin)) return out;
  bool anyOrigin = wildcard_ && !settings_.corsCredentials;
  out.emplace_back("Access-Control-Allow-Origin", anyOrigin ? "*" : origin);
  if (!anyOrigin) out.emplace_back("Vary", "Origin");
  if (settings_.corsCredentials)
    out.emplace_back("Access-Control-Allow-Credentials", "true");
  out.emplace_back("Access-Control-Expose-Headers",
                   std::string(kSessionHeader) + ", Retry-After");
  return out;
}

bool CorsPolicy::preflight(const std::string& origin, const std::string& method,
                           HeaderList* out) const {
  if (!listed(origin) || method != "POST") return false;
  *out = allowHeaders(origin);
  out->emplace_back("Access-Control-Allow-Methods", "POST");
  out->emplace_back("Access-Control-Allow-Headers", "Content-Type, Authorization");
  out->emplace_back("Access-Control-Max-Age",
                    std::to_string(settings_.corsMaxAgeSeconds));
  return true;
}

std::string CorsPolicy::checkCookieRequest(const OriginHeaders& request) const {
  const std::string& origin = request.origin;
  if (!origin.empty()) {
    if (sameOrigin(origin, request.host)) return "";
    // Only an explicitly listed origin, never `*`: the cookie is a
    // credential.
    if (settings_.corsCredentials) {
      for (const std::string& o : settings_.corsOrigins)
        if (o != "*" && Poco::icompare(o, origin) == 0) return "";
    }
    return "cross-site publish refused: origin is not allowed";
  }
  const std::string site = Poco::toLower(request.secFetchSite);
  if (site == "same-origin" || site == "none") return "";
  if (site.empty())
    return "cookie-authenticated publish needs an Origin or Sec-Fetch-Site "
           "header "
           "(or send the token in Authorization)";
  return "cross-site publish refused (Sec-Fetch-Site: " + site.substr(0, 16) +
         ")";
}

}  // namespace rtdemo
