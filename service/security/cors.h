// Cross-origin rules: which web origins may read rtdemo's answers (CORS),
// and whether a cookie-authenticated publish really comes from a page we
// trust (CSRF).
//
// - rtdemo.cors.origins lists the origins allowed to call rtdemo from a
//   browser; empty means same-origin only (the demo page). `*` is accepted
//   only when credentials are off: a wildcard that also carried cookies
//   would let any site act as its visitors.
// - Preflight (OPTIONS /send) answers 204 with the allowed method and
//   headers for a listed origin, 403 otherwise.
// - A publish authenticated by a cookie is a CSRF target: the browser adds
//   the cookie to a form post from any site. Such a publish must carry an
//   Origin that is this server's own or a listed one, or, without Origin,
//   Sec-Fetch-Site: same-origin / none. A bearer token in the Authorization
//   header needs no such check: no other site can make a browser send it.
//
// Thread safety: immutable after construction.
#pragma once

#include <string>

#include "Poco/Net/HTTPServerRequest.h"
#include "Poco/Net/HTTPServerResponse.h"
#include "service/security/security_settings.h"

namespace rtdemo {

class CorsPolicy {
 public:
  explicit CorsPolicy(const SecuritySettings& settings);

  // True when `origin` is listed (or `*` is, for credential-less use).
  bool listed(const std::string& origin) const;

  // True when the request's Origin names this server itself (its Host).
  static bool sameOrigin(const Poco::Net::HTTPServerRequest& request);

  // Adds Access-Control-Allow-* headers for a listed Origin; nothing for an
  // unlisted or absent one (the browser then hides the answer).
  void addHeaders(const Poco::Net::HTTPServerRequest& request,
                  Poco::Net::HTTPServerResponse& response) const;

  // Answers a preflight; returns true when it was allowed.
  bool answerPreflight(const Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) const;

  // The CSRF rule for cookie-authenticated publishes; "" when allowed, else
  // the reason.
  std::string checkCookieRequest(
      const Poco::Net::HTTPServerRequest& request) const;

 private:
  // Constant after construction.
  const SecuritySettings settings_;
  bool wildcard_ = false;
};

}  // namespace rtdemo
