// The HTTP admission hooks (see request_security.h).
#include "service/http/request_security.h"

#include "Poco/Logger.h"
#include "Poco/Net/HTTPServerRequestImpl.h"
#include "Poco/Net/NameValueCollection.h"
#include "Poco/String.h"
#include "service/http/http_util.h"
#include "service/security/session_id.h"

namespace rtdemo {
namespace {

Poco::Logger& logger() { return Poco::Logger::get("rtdemo"); }

bool hasBody(const Poco::Net::HTTPServerRequest& request) {
  return request.getChunkedTransferEncoding() ||
         (request.hasContentLength() && request.getContentLength64() > 0);
}

// The socket's descriptor. Every request our server sees is an
// HTTPServerRequestImpl.
int socketOf(Poco::Net::HTTPServerRequest& request) {
  return static_cast<Poco::Net::HTTPServerRequestImpl&>(request)
      .socket()
      .impl()
      ->sockfd();
}

OriginHeaders originHeaders(const Poco::Net::HTTPServerRequest& request) {
  return {request.get("Origin", ""), request.get("Host", ""),
          request.get("Sec-Fetch-Site", "")};
}

}  // namespace

std::string RequestSecurity::clientAddressOf(
    const Poco::Net::HTTPServerRequest& request) const {
  const TrustedProxies& trusted = security_.trustedProxies();
  std::string forwardedFor;
  if (!trusted.empty()) {
    // Several X-Forwarded-For headers mean the same as one joined with
    // commas, in order; POCO's header map keeps equal names adjacent, in the
    // order they arrived.
    for (auto it = request.find("X-Forwarded-For");
         it != request.end() &&
         Poco::icompare(it->first, "X-Forwarded-For") == 0;
         ++it) {
      if (!forwardedFor.empty()) forwardedFor += ",";
      forwardedFor += it->second;
    }
  }
  return clientAddress(request.clientAddress().host(), forwardedFor, trusted);
}

std::string RequestSecurity::sessionFor(const Poco::Net::HTTPServerRequest&) {
  // One id per connection: a guarded connection keeps it across keep-alive
  // requests. A connection the hub hands back is run anew by the returner,
  // and starts a new session. (Off a guarded connection, as in tests that
  // run handlers directly, each request gets one.)
  GuardedConnectionState* conn = currentConnection();
  if (!conn) return newSessionId();
  if (conn->sessionId.empty()) conn->sessionId = newSessionId();
  return conn->sessionId;
}

Credentials RequestSecurity::readCredentials(
    const Poco::Net::HTTPServerRequest& request) const {
  Credentials c;
  if (request.has("Authorization")) {
    std::string value = Poco::trim(request.get("Authorization"));
    if (value.size() > 7 &&
        Poco::icompare(value.substr(0, 7), "Bearer ") == 0) {
      c.source = Credentials::Source::kHeader;
      c.token = Poco::trim(value.substr(7));
    } else {
      c.malformed = "Authorization must be 'Bearer <token>'";
    }
    return c;
  }
  const std::string& cookie = security_.settings().tokenCookie;
  Poco::Net::NameValueCollection cookies;
  request.getCookies(cookies);
  if (cookies.has(cookie)) {
    c.source = Credentials::Source::kCookie;
    c.token = cookies.get(cookie);
  }
  return c;
}

std::string RequestSecurity::originAllowedForCookie(
    const Poco::Net::HTTPServerRequest& request) const {
  return security_.cors().checkCookieRequest(originHeaders(request));
}

void RequestSecurity::addCorsHeaders(
    const Poco::Net::HTTPServerRequest& request,
    Poco::Net::HTTPServerResponse& response) const {
  for (const auto& [name, value] :
       security_.cors().allowHeaders(request.get("Origin", "")))
    response.set(name, value);
}

void RequestSecurity::refuse(Poco::Net::HTTPServerResponse& response,
                             const Verdict& verdict, const std::string& what,
                             const std::string& session,
                             const std::string& address) {
  noteRefusal(verdict, what, session, address);
  answerRefusal(response, verdict);
}

void RequestSecurity::noteRefusal(const Verdict& verdict, const std::string& what,
                                  const std::string& session,
                                  const std::string& address) {
  // Authentication failures are worth an operator's eye; floods of limit
  // refusals are counted in /metrics and logged only at debug level.
  bool auth = verdict.status == 401 || verdict.status == 403;
  std::string line = "refused " + what + " from " + address + " session " +
                     session + ": " + std::to_string(verdict.status) + " " +
                     verdict.error;
  if (auth)
    logger().notice(line);
  else if (logger().debug())
    logger().debug(line);
}

HeaderList RequestSecurity::refusalHeaders(const Verdict& verdict) {
  HeaderList headers;
  if (verdict.retryAfterSeconds > 0)
    headers.emplace_back("Retry-After", std::to_string(verdict.retryAfterSeconds));
  if (verdict.status == 401)
    headers.emplace_back("WWW-Authenticate",
                         "Bearer realm=\"rtdemo\", error=\"invalid_token\"");
  return headers;
}

void RequestSecurity::answerRefusal(Poco::Net::HTTPServerResponse& response,
                                    const Verdict& verdict) {
  for (const auto& [name, value] : refusalHeaders(verdict)) response.set(name, value);
  // A refused request may have an unread body; the connection cannot be
  // reused safely, and a refused client reconnecting costs little.
  response.setKeepAlive(false);
  sendError(response, verdict.status, verdict.error);
}

// ---- every request ---------------------------------------------------------

bool RequestSecurity::admitRequest(Poco::Net::HTTPServerRequest& request,
                                   Poco::Net::HTTPServerResponse& response) {
  HandshakeWatchdog& watchdog = security_.watchdog();
  GuardedConnectionState* conn = currentConnection();
  if (conn) {
    // A body still has to arrive: keep a deadline on it. Without one the
    // handler may detach the socket, so the watchdog must let go now (and
    // the connection is no longer idle either way).
    if (conn->handshakeMs > 0 && hasBody(request))
      watchdog.arm(conn->ticket, HandshakeWatchdog::nowMs() + conn->handshakeMs);
    else
      watchdog.disarm(conn->ticket);
  }
  size_t line = request.getMethod().size() + request.getURI().size() +
                request.getVersion().size() + 2;
  size_t bytes = 0;
  for (const auto& kv : request) bytes += kv.first.size() + kv.second.size() + 4;
  Verdict v = security_.checkRequestHead(line, request.size(), bytes);
  if (v.ok()) {
    if (conn && response.getKeepAlive())
      decideKeepAlive(request, response, conn);
    return true;
  }
  refuse(response, v, request.getMethod() + " request", sessionFor(request),
         clientAddressOf(request));
  return false;
}

void RequestSecurity::decideKeepAlive(Poco::Net::HTTPServerRequest& request,
                                      Poco::Net::HTTPServerResponse& response,
                                      GuardedConnectionState* conn) {
  SecurityCounters& counters = security_.counters();
  // Every thread of the pool holds a connection (this one included), or
  // idle connections hold their share of them: an idle connection now could
  // keep a queued one waiting.
  if (!security_.watchdog().mayIdle(conn->pool)) {
    counters.keepAliveDeclinedBusy++;
    response.setKeepAlive(false);
    return;
  }
  if (conn->onEnd) return;  // counted since an earlier request
  int fd = socketOf(request);
  std::string address = clientAddressOf(request);
  ConnectionLimits& connections = security_.connections();
  ConnectionLimits::Identity id;
  if (!connections.holdIdle(fd, limitUnit(address), security_.exempt(address),
                            &id)) {
    counters.keepAliveDeclinedPerIp++;
    response.setKeepAlive(false);
    return;
  }
  // Forgotten when the connection ends (after POCO closed the socket,
  // hence the identity), unless openStream() has made it a stream's.
  conn->onEnd = [&connections, fd, id] { connections.releaseIdle(fd, id); };
}

void RequestSecurity::finishRequest(Poco::Net::HTTPServerRequest& request,
                                    Poco::Net::HTTPServerResponse& response) {
  GuardedConnectionState* conn = currentConnection();
  // Only a connection POCO keeps reading needs a deadline for its next
  // request. Streams, parked polls and WebSockets have been detached (the
  // session then holds an empty socket) and belong to the hub.
  bool detached = !static_cast<Poco::Net::HTTPServerRequestImpl&>(request)
                       .socket()
                       .impl()
                       ->initialized();
  if (!conn || !response.getKeepAlive() || detached) return;
  int64_t deadline =
      conn->handshakeMs > 0
          ? HandshakeWatchdog::nowMs() + conn->keepAliveMs + conn->handshakeMs
          : 0;
  // The pool filled up while this request ran: close rather than idle (the
  // answer is out; POCO closes the connection after it).
  if (!security_.watchdog().armIdle(conn->ticket, deadline)) {
    security_.counters().keepAliveDeclinedBusy++;
    response.setKeepAlive(false);
  }
}

// ---- POST /send ------------------------------------------------------------

bool RequestSecurity::beginSend(Poco::Net::HTTPServerRequest& request,
                                Poco::Net::HTTPServerResponse& response,
                                SendAuth* auth) {
  SecurityCounters& counters = security_.counters();
  auth->session = sessionFor(request);
  auth->address = clientAddressOf(request);
  response.set(kSessionHeader, auth->session);
  counters.sessionsSend++;
  addCorsHeaders(request, response);

  Verdict rate = security_.admitPublish(auth->address);
  if (!rate.ok()) {
    refuse(response, rate, "POST /send", auth->session, auth->address);
    return false;
  }
  if (!security_.settings().jwtEnabled()) return true;
  Credentials credentials = readCredentials(request);
  TokenCheck check;
  Verdict v = security_.checkToken(credentials, &check);
  if (!v.ok()) {
    counters.unauthorized++;
    refuse(response, v, "POST /send", auth->session, auth->address);
    return false;
  }
  if (credentials.source == Credentials::Source::kCookie) {
    std::string why = originAllowedForCookie(request);
    if (!why.empty()) {
      counters.crossSite++;
      refuse(response, {403, why}, "POST /send", auth->session, auth->address);
      return false;
    }
  }
  auth->checked = true;
  auth->claims = std::move(check.claims);
  return true;
}

void RequestSecurity::sendBodyRead() {
  // The body has been read: the publish itself may take its time.
  if (GuardedConnectionState* conn = currentConnection())
    security_.watchdog().disarm(conn->ticket);
}

Verdict RequestSecurity::checkSendChannel(const SendAuth& auth,
                                          const std::string& channel) {
  Verdict v = security_.checkChannel(channel);
  if (v.ok() && auth.checked && !auth.claims.publish.covers(channel)) {
    security_.counters().forbidden++;
    v = {403, "token may not publish to channel " + channel};
  }
  if (!v.ok()) noteRefusal(v, "POST /send", auth.session, auth.address);
  return v;
}

bool RequestSecurity::authorizeSend(const SendAuth& auth,
                                    const std::string& channel,
                                    Poco::Net::HTTPServerResponse& response) {
  sendBodyRead();
  Verdict v = checkSendChannel(auth, channel);
  if (v.ok()) return true;
  answerRefusal(response, v);
  return false;
}

void RequestSecurity::answerPreflight(
    const Poco::Net::HTTPServerRequest& request,
    Poco::Net::HTTPServerResponse& response) {
  HeaderList headers;
  if (!security_.cors().preflight(request.get("Origin", ""),
                                  request.get("Access-Control-Request-Method", ""),
                                  &headers)) {
    security_.counters().preflightRefused++;
    sendError(response, 403, CorsPolicy::kPreflightRefused);
    return;
  }
  for (const auto& [name, value] : headers) response.set(name, value);
  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
  response.setContentLength(0);
  response.send();
}

// ---- GET /events, /poll, /ws, /presence ------------------------------------

bool RequestSecurity::authorizeSubscribe(Poco::Net::HTTPServerRequest& request,
                                         Poco::Net::HTTPServerResponse& response,
                                         const std::string& channel,
                                         Transport transport,
                                         SubscribeAuth* auth) {
  SecurityCounters& counters = security_.counters();
  auth->session = sessionFor(request);
  auth->address = clientAddressOf(request);
  auth->transport = transport;
  response.set(kSessionHeader, auth->session);
  switch (transport) {
    case Transport::kSse:
      counters.sessionsSse++;
      break;
    case Transport::kPoll:
      counters.sessionsPoll++;
      break;
    case Transport::kWebSocket:
      counters.sessionsWs++;
      break;
    case Transport::kPresence:
    case Transport::kHttp:
      break;
  }
  addCorsHeaders(request, response);

  Verdict v = security_.checkChannel(channel);
  if (v.ok()) {
    v = security_.checkSubscribe(readCredentials(request), channel);
    if (v.status == 401) counters.unauthorized++;
    if (v.status == 403) counters.forbidden++;
  }
  if (v.ok()) {
    auth->tokenExpiresAt = v.tokenExpiresAt;
    return true;
  }
  refuse(response, v,
         std::string("GET /") + transportName(transport) + " " + channel,
         auth->session, auth->address);
  return false;
}

bool RequestSecurity::openStream(Poco::Net::HTTPServerRequest& request,
                                 Poco::Net::HTTPServerResponse& response,
                                 const SubscribeAuth& auth,
                                 const std::string& channel) {
  const char* transport = transportName(auth.transport);
  Verdict v = security_.admitStream(
      socketOf(request), {auth.session, auth.address, channel, auth.transport});
  if (v.ok()) {
    // Its kept-alive entry is the stream's now, released by the hub.
    if (GuardedConnectionState* conn = currentConnection())
      conn->onEnd = nullptr;
    if (logger().debug())
      logger().debug("session %s: %s on channel %s from %s", auth.session,
                     std::string(transport), channel, auth.address);
    return true;
  }
  refuse(response, v, std::string("GET /") + transport + " " + channel,
         auth.session, auth.address);
  return false;
}

}  // namespace rtdemo
