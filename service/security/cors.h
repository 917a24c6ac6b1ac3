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
// The rules only: they read header values and say which headers an answer
// carries. Applying them to a request and its response is the HTTP side's
// (http/request_security.h), as is answering a preflight.
//
// Thread safety: immutable after construction.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "service/security/security_settings.h"

namespace rtdemo {

// Response headers, name and value, in the order they are to be set.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The request headers the origin rules read ("" when absent).
struct OriginHeaders {
  std::string origin;        // Origin
  std::string host;          // Host
  std::string secFetchSite;  // Sec-Fetch-Site
};

class CorsPolicy {
 public:
  explicit CorsPolicy(const SecuritySettings& settings);

  // True when `origin` is listed (or `*` is, for credential-less use).
  bool listed(const std::string& origin) const;

  // True when `origin` names this server itself, whose Host is `host`.
  static bool sameOrigin(const std::string& origin, const std::string& host);

  // The Access-Control-Allow-* headers of an answer to a request from
  // `origin`: some for a listed one; none for an unlisted or absent one (the
  // browser then hides the answer).
  HeaderList allowHeaders(const std::string& origin) const;

  // A preflight from `origin` for `method`: true, and the headers of its 204
  // in *out, when allowed; false (a 403) otherwise.
  bool preflight(const std::string& origin, const std::string& method,
                 HeaderList* out) const;
  static constexpr const char* kPreflightRefused =
      "cross-origin request not allowed from this origin";

  // The CSRF rule for cookie-authenticated publishes; "" when allowed, else
  // the reason.
  std::string checkCookieRequest(const OriginHeaders& request) const;

 private:
  // Constant after construction.
  const SecuritySettings settings_;
  bool wildcard_ = false;
};

}  // namespace rtdemo
