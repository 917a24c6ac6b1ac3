// CORS headers, preflight and the CSRF origin check (see cors.h).
#include "service/security/cors.h"

#include <algorithm>

#include "Poco/String.h"
#include "service/http/http_util.h"
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

bool CorsPolicy::sameOrigin(const Poco::Net::HTTPServerRequest& request) {
  const std::string origin = request.get("Origin", "");
  const std::string host = Poco::toLower(request.get("Host", ""));
  if (origin.empty() || host.empty()) return false;
  // The scheme is not compared: behind a TLS proxy the browser says https
  // while rtdemo itself speaks http. Host and port must match exactly.
  return originAuthority(origin) == host;
}

void CorsPolicy::addHeaders(const Poco::Net::HTTPServerRequest& request,
                            Poco::Net::HTTPServerResponse& response) const {
  const std::string origin = request.get("Origin", "");
  if (!listed(origin)) return;
  bool anyOrigin = wildcard_ && !settings_.corsCredentials;
  response.set("Access-Control-Allow-Origin", anyOrigin ? "*" : origin);
  if (!anyOrigin) response.set("Vary", "Origin");
  if (settings_.corsCredentials)
    response.set("Access-Control-Allow-Credentials", "true");
  response.set("Access-Control-Expose-Headers",
               std::string(kSessionHeader) + ", Retry-After");
}

bool CorsPolicy::answerPreflight(
    const Poco::Net::HTTPServerRequest& request,
    Poco::Net::HTTPServerResponse& response) const {
  const std::string origin = request.get("Origin", "");
  const std::string method = request.get("Access-Control-Request-Method", "");
  if (!listed(origin) || method != "POST") {
    sendError(response, 403,
              "cross-origin request not allowed from this origin");
    return false;
  }
  addHeaders(request, response);
  response.set("Access-Control-Allow-Methods", "POST");
  response.set("Access-Control-Allow-Headers", "Content-Type, Authorization");
  response.set("Access-Control-Max-Age",
               std::to_string(settings_.corsMaxAgeSeconds));
  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
  response.setContentLength(0);
  response.send();
  return true;
}

std::string CorsPolicy::checkCookieRequest(
    const Poco::Net::HTTPServerRequest& request) const {
  const std::string origin = request.get("Origin", "");
  if (!origin.empty()) {
    if (sameOrigin(request)) return "";
    // Only an explicitly listed origin, never `*`: the cookie is a
    // credential.
    if (settings_.corsCredentials) {
      for (const std::string& o : settings_.corsOrigins)
        if (o != "*" && Poco::icompare(o, origin) == 0) return "";
    }
    return "cross-site publish refused: origin is not allowed";
  }
  const std::string site = Poco::toLower(request.get("Sec-Fetch-Site", ""));
  if (site == "same-origin" || site == "none") return "";
  if (site.empty())
    return "cookie-authenticated publish needs an Origin or Sec-Fetch-Site "
           "header "
           "(or send the token in Authorization)";
  return "cross-site publish refused (Sec-Fetch-Site: " + site.substr(0, 16) +
         ")";
}

}  // namespace rtdemo
