// RequestSecurity: the HTTP admission hooks, which apply Security's rules
// (security/security.h) to a request at a few fixed points and answer every
// refusal themselves.
//
// Where each check happens, in request order:
//   every request      admitRequest(): request line (414) and headers (431);
//                      the handshake deadline (guarded_server.h); whether
//                      the connection may stay alive after the answer (not
//                      while the pool is busy, nor past the address's
//                      connection limit: Connection: close instead).
//                      finishRequest(), after the answer: the deadline for
//                      the next request on a kept-alive connection.
//   POST /send         beginSend(): session id, CORS headers, rate per
//                      address (429), token (401), CSRF for cookies (403);
//                      then, once the body is parsed, authorizeSend():
//                      channel length (400) and the token's publish claim
//                      (403). Nothing is stored unless both pass.
//   OPTIONS /send      answerPreflight(): 204 for a listed origin, else 403.
//   GET /events, /poll authorizeSubscribe(): session id, CORS headers,
//   /ws, /presence     channel length (400), private channels need a token
//                      whose subscribe claim covers them (401/403), before
//                      any history is read: replay is authorised like live
//                      messages. openStream(), just before the socket goes
//                      to the hub: open streams per address (429) and in
//                      total (503), with Retry-After.
// A hook that returns false has sent a JSON error (and Connection: close:
// the request may have an unread body); the handler stops there. Every
// refusal is counted in SecurityCounters and changes nothing.
//
// Thread safety: every method may be called from any pool thread; the
// object is created once, before the server starts, and outlives every
// handler. `security` must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "Poco/Net/HTTPServerRequest.h"
#include "Poco/Net/HTTPServerResponse.h"
#include "service/http/guarded_server.h"
#include "service/security/cors.h"
#include "service/security/security.h"
#include "service/security/transport.h"

namespace rtdemo {

// What beginSend() learned, for authorizeSend().
struct SendAuth {
  std::string session;
  std::string address;
  bool checked = false;  // publish auth is on and the token verified
  TokenClaims claims;
};

// What authorizeSubscribe() learned, for openStream().
struct SubscribeAuth {
  SubscribeAuth() = default;
  SubscribeAuth(std::string session, std::string address, Transport transport)
      : session(std::move(session)),
        address(std::move(address)),
        transport(transport) {}

  std::string session;
  std::string address;
  Transport transport = Transport::kSse;
  // As Verdict::tokenExpiresAt: when the token that allowed this private
  // channel expires; none for a public channel or a token without exp.
  std::optional<int64_t> tokenExpiresAt;
};

class RequestSecurity {
 public:
  explicit RequestSecurity(Security* security) : security_(*security) {}

  Security& rules() const { return security_; }

  // ---- hooks (answer the refusal themselves; false = stop) ---------------

  bool admitRequest(Poco::Net::HTTPServerRequest& request,
                    Poco::Net::HTTPServerResponse& response);
  void finishRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response);

  bool beginSend(Poco::Net::HTTPServerRequest& request,
                 Poco::Net::HTTPServerResponse& response, SendAuth* auth);
  bool authorizeSend(const SendAuth& auth, const std::string& channel,
                     Poco::Net::HTTPServerResponse& response);

  // The two halves of authorizeSend(), for code that answers by itself
  // (send_publish.h checks every element of a batch): the body is read, so
  // the handshake deadline stops (a no-op off a pool thread); and the
  // channel rules, whose refusal is counted and logged, not answered.
  void sendBodyRead();
  Verdict checkSendChannel(const SendAuth& auth, const std::string& channel);
  // The headers a refusal carries (Retry-After, WWW-Authenticate).
  static HeaderList refusalHeaders(const Verdict& verdict);

  // Answers OPTIONS /send (cors.h): 204 with the Access-Control-Allow-*
  // headers, or 403 (counted).
  void answerPreflight(const Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response);

  bool authorizeSubscribe(Poco::Net::HTTPServerRequest& request,
                          Poco::Net::HTTPServerResponse& response,
                          const std::string& channel, Transport transport,
                          SubscribeAuth* auth);
  bool openStream(Poco::Net::HTTPServerRequest& request,
                  Poco::Net::HTTPServerResponse& response,
                  const SubscribeAuth& auth, const std::string& channel);

  // ---- what a request tells the rules --------------------------------------

  // The token a request carries: Authorization: Bearer wins over the cookie.
  Credentials readCredentials(
      const Poco::Net::HTTPServerRequest& request) const;
  // The CSRF rule for a request authenticated by cookie ("" = allowed).
  std::string originAllowedForCookie(
      const Poco::Net::HTTPServerRequest& request) const;
  // The client address (client_address.h): the peer, or whom the trusted
  // proxies name in X-Forwarded-For.
  std::string clientAddressOf(
      const Poco::Net::HTTPServerRequest& request) const;
  // This connection's session id (stable over keep-alive requests).
  std::string sessionFor(const Poco::Net::HTTPServerRequest& request);
  // Sets the CORS headers of an answer to this request (also used by
  // /v1/stream, whose every answer carries them).
  void addCorsHeaders(const Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response) const;

 private:
  void refuse(Poco::Net::HTTPServerResponse& response, const Verdict& verdict,
              const std::string& what, const std::string& session,
              const std::string& address);
  void noteRefusal(const Verdict& verdict, const std::string& what,
                   const std::string& session, const std::string& address);
  void answerRefusal(Poco::Net::HTTPServerResponse& response, const Verdict& verdict);
  // Before the answer: turns keep-alive off when the connection may not
  // idle on its pool thread afterwards.
  void decideKeepAlive(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response,
                       GuardedConnectionState* conn);

  Security& security_;
};

}  // namespace rtdemo
