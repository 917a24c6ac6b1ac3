// The security checks at each hook (see security.h).
#include "service/security/security.h"

#include <chrono>

#include "Poco/Logger.h"
#include "Poco/Net/HTTPServerRequestImpl.h"
#include "Poco/Net/NameValueCollection.h"
#include "Poco/String.h"
#include "service/http/http_util.h"
#include "service/security/session_id.h"

namespace rtdemo {
namespace {

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Poco::Logger& logger() { return Poco::Logger::get("rtdemo"); }

bool hasBody(const Poco::Net::HTTPServerRequest& request) {
  return request.getChunkedTransferEncoding() ||
         (request.hasContentLength() && request.getContentLength64() > 0);
}

}  // namespace

Security::Security(SecuritySettings settings, TrustedProxies trustedProxies)
    : settings_(std::move(settings)),
      trustedProxies_(std::move(trustedProxies)),
      cors_(settings_),
      verifier_(settings_.jwtSecret.empty()
                    ? nullptr
                    : std::make_unique<JwtVerifier>(
                          settings_.jwtSecret, settings_.jwtAlgorithm,
                          settings_.jwtLeewaySeconds)),
      sendRate_(settings_.sendRatePerIp, settings_.sendBurstPerIp),
      connections_(settings_.streamsPerIp, settings_.streamsTotal),
      watchdog_(&counters_.slowHandshakes) {
  watchdog_.setIdlePercent(settings_.keepAliveIdlePercent);
}

Security::~Security() { stop(); }

void Security::start() { watchdog_.start(); }
void Security::stop() { watchdog_.stop(); }

bool Security::isPrivate(const std::string& channel) const {
  return settings_.hasPrivateChannels() &&
         channel.compare(0, settings_.privatePrefix.size(),
                         settings_.privatePrefix) == 0;
}

bool Security::exempt(const std::string& address) const {
  if (settings_.limitsExempt.empty()) return false;
  Poco::Net::IPAddress ip;
  return Poco::Net::IPAddress::tryParse(address, ip) &&
         settings_.limitsExempt.contains(ip);
}

std::string Security::clientAddressOf(
    const Poco::Net::HTTPServerRequest& request) const {
  return clientAddress(request, trustedProxies_);
}

std::string Security::sessionFor(const Poco::Net::HTTPServerRequest&) {
  // One id per connection: a guarded connection keeps it across keep-alive
  // requests. A connection the hub hands back is run anew by the returner,
  // and starts a new session. (Off a guarded connection, as in tests that
  // run handlers directly, each request gets one.)
  GuardedConnectionState* conn = currentConnection();
  if (!conn) return newSessionId();
  if (conn->sessionId.empty()) conn->sessionId = newSessionId();
  return conn->sessionId;
}

void Security::refuse(Poco::Net::HTTPServerResponse& response,
                      const Verdict& verdict, const std::string& what,
                      const std::string& session, const std::string& address) {
  if (verdict.retryAfterSeconds > 0)
    response.set("Retry-After", std::to_string(verdict.retryAfterSeconds));
  if (verdict.status == 401)
    response.set("WWW-Authenticate",
                 "Bearer realm=\"rtdemo\", error=\"invalid_token\"");
  // A refused request may have an unread body; the connection cannot be
  // reused safely, and a refused client reconnecting costs little.
  response.setKeepAlive(false);
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
  sendError(response, verdict.status, verdict.error);
}

// ---- every request ---------------------------------------------------------

bool Security::admitRequest(Poco::Net::HTTPServerRequest& request,
                            Poco::Net::HTTPServerResponse& response) {
  GuardedConnectionState* conn = currentConnection();
  if (conn) {
    // A body still has to arrive: keep a deadline on it. Without one the
    // handler may detach the socket, so the watchdog must let go now (and
    // the connection is no longer idle either way).
    if (conn->handshakeMs > 0 && hasBody(request))
      watchdog_.arm(conn->ticket,
                    HandshakeWatchdog::nowMs() + conn->handshakeMs);
    else
      watchdog_.disarm(conn->ticket);
  }
  size_t line = request.getMethod().size() + request.getURI().size() +
                request.getVersion().size() + 2;
  Verdict v;
  if (settings_.requestLineMaxBytes > 0 &&
      line > settings_.requestLineMaxBytes) {
    counters_.requestLineTooLong++;
    v = {414, "request line is longer than " +
                  std::to_string(settings_.requestLineMaxBytes) +
                  " bytes (rtdemo.limits.request-line.bytes)"};
  } else {
    size_t bytes = 0;
    for (const auto& kv : request)
      bytes += kv.first.size() + kv.second.size() + 4;
    if (request.size() > settings_.headerMaxCount) {
      counters_.headersTooLarge++;
      v = {431, "more than " + std::to_string(settings_.headerMaxCount) +
                    " header fields (rtdemo.limits.header.count)"};
    } else if (bytes > settings_.headerMaxBytes) {
      counters_.headersTooLarge++;
      v = {431, "header fields are larger than " +
                    std::to_string(settings_.headerMaxBytes) +
                    " bytes (rtdemo.limits.header.bytes)"};
    }
  }
  if (v.ok()) {
    if (conn && response.getKeepAlive())
      decideKeepAlive(request, response, conn);
    return true;
  }
  refuse(response, v, request.getMethod() + " request", sessionFor(request),
         clientAddressOf(request));
  return false;
}

void Security::decideKeepAlive(Poco::Net::HTTPServerRequest& request,
                               Poco::Net::HTTPServerResponse& response,
                               GuardedConnectionState* conn) {
  // Every thread of the pool holds a connection (this one included), or
  // idle connections hold their share of them: an idle connection now could
  // keep a queued one waiting.
  if (!watchdog_.mayIdle(conn->pool)) {
    counters_.keepAliveDeclinedBusy++;
    response.setKeepAlive(false);
    return;
  }
  if (conn->onEnd) return;  // counted since an earlier request
  int fd = static_cast<Poco::Net::HTTPServerRequestImpl&>(request)
               .socket()
               .impl()
               ->sockfd();
  std::string address = clientAddressOf(request);
  ConnectionLimits::Identity id;
  if (!connections_.holdIdle(fd, limitUnit(address), exempt(address), &id)) {
    counters_.keepAliveDeclinedPerIp++;
    response.setKeepAlive(false);
    return;
  }
  // Forgotten when the connection ends (after POCO closed the socket,
  // hence the identity), unless openStream() has made it a stream's.
  conn->onEnd = [this, fd, id] { connections_.releaseIdle(fd, id); };
}

void Security::finishRequest(Poco::Net::HTTPServerRequest& request,
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
  if (!watchdog_.armIdle(conn->ticket, deadline)) {
    counters_.keepAliveDeclinedBusy++;
    response.setKeepAlive(false);
  }
}

// ---- tokens ----------------------------------------------------------------

Credentials Security::readCredentials(
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
  Poco::Net::NameValueCollection cookies;
  request.getCookies(cookies);
  if (cookies.has(settings_.tokenCookie)) {
    c.source = Credentials::Source::kCookie;
    c.token = cookies.get(settings_.tokenCookie);
  }
  return c;
}

Verdict Security::checkToken(const Credentials& credentials, TokenCheck* out) {
  if (!credentials.malformed.empty()) return {401, credentials.malformed};
  if (credentials.source == Credentials::Source::kNone)
    return {401, "missing token: send Authorization: Bearer <token> or the " +
                     settings_.tokenCookie + " cookie"};
  if (!verifier_) return {401, "tokens are not accepted: no key is configured"};
  *out = verifier_->verify(credentials.token, unixSeconds());
  if (!out->ok) return {401, out->error};
  return {};
}

Verdict Security::checkPublish(const Credentials& credentials,
                               const std::string& channel) {
  if (!settings_.jwtEnabled()) return {};
  TokenCheck check;
  Verdict v = checkToken(credentials, &check);
  if (!v.ok()) return v;
  if (!check.claims.publish.covers(channel))
    return {403, "token may not publish to channel " + channel};
  v.tokenExpiresAt = check.claims.expiresAt;
  return v;
}

Verdict Security::checkSubscribe(const Credentials& credentials,
                                 const std::string& channel) {
  if (!isPrivate(channel)) return {};
  TokenCheck check;
  Verdict v = checkToken(credentials, &check);
  if (!v.ok()) return v;
  if (!check.claims.subscribe.covers(channel))
    return {403, "token may not subscribe to channel " + channel};
  v.tokenExpiresAt = check.claims.expiresAt;
  return v;
}

Verdict Security::admitStream(int fd, const Subscriber& who) {
  Subscriber counted = who;
  counted.address = limitUnit(who.address);  // an IPv6 client is its /64
  LimitDecision d = connections_.open(fd, counted, exempt(who.address));
  if (d.status == 0) return {};
  (d.status == 429 ? counters_.streamsPerAddress : counters_.streamsTotal)++;
  return {d.status, d.error, settings_.retryAfterSeconds};
}

Verdict Security::admitPublish(const std::string& address) {
  if (exempt(address)) return {};
  int wait = sendRate_.take(limitUnit(address), HandshakeWatchdog::nowMs());
  if (wait == 0) return {};
  counters_.sendRateLimited++;
  return {429, "too many publishes from this address; retry later", wait};
}

// ---- POST /send
// --------------------------------------------------------------

bool Security::beginSend(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response,
                         SendAuth* auth) {
  auth->session = sessionFor(request);
  auth->address = clientAddressOf(request);
  response.set(kSessionHeader, auth->session);
  counters_.sessionsSend++;
  cors_.addHeaders(request, response);

  Verdict rate = admitPublish(auth->address);
  if (!rate.ok()) {
    refuse(response, rate, "POST /send", auth->session, auth->address);
    return false;
  }
  if (!settings_.jwtEnabled()) return true;
  Credentials credentials = readCredentials(request);
  TokenCheck check;
  Verdict v = checkToken(credentials, &check);
  if (!v.ok()) {
    counters_.unauthorized++;
    refuse(response, v, "POST /send", auth->session, auth->address);
    return false;
  }
  if (credentials.source == Credentials::Source::kCookie) {
    std::string why = cors_.checkCookieRequest(request);
    if (!why.empty()) {
      counters_.crossSite++;
      refuse(response, {403, why}, "POST /send", auth->session, auth->address);
      return false;
    }
  }
  auth->checked = true;
  auth->claims = std::move(check.claims);
  return true;
}

bool Security::authorizeSend(const SendAuth& auth, const std::string& channel,
                             Poco::Net::HTTPServerResponse& response) {
  // The body has been read: the publish itself may take its time.
  if (GuardedConnectionState* conn = currentConnection())
    watchdog_.disarm(conn->ticket);
  Verdict v;
  if (channel.size() > settings_.channelMaxLength) {
    counters_.channelRefused++;
    v = {400, "channel is longer than " +
                  std::to_string(settings_.channelMaxLength) +
                  " characters (rtdemo.limits.channel.max-length)"};
  } else if (auth.checked && !auth.claims.publish.covers(channel)) {
    counters_.forbidden++;
    v = {403, "token may not publish to channel " + channel};
  }
  if (v.ok()) return true;
  refuse(response, v, "POST /send", auth.session, auth.address);
  return false;
}

// ---- GET /events, /poll
// ------------------------------------------------------

bool Security::authorizeSubscribe(Poco::Net::HTTPServerRequest& request,
                                  Poco::Net::HTTPServerResponse& response,
                                  const std::string& channel,
                                  const std::string& transport,
                                  SubscribeAuth* auth) {
  auth->session = sessionFor(request);
  auth->address = clientAddressOf(request);
  auth->transport = transport;
  response.set(kSessionHeader, auth->session);
  if (transport == "sse")
    counters_.sessionsSse++;
  else if (transport == "poll")
    counters_.sessionsPoll++;
  else if (transport == "ws")
    counters_.sessionsWs++;
  cors_.addHeaders(request, response);

  Verdict v;
  if (channel.size() > settings_.channelMaxLength) {
    counters_.channelRefused++;
    v = {400, "channel is longer than " +
                  std::to_string(settings_.channelMaxLength) +
                  " characters (rtdemo.limits.channel.max-length)"};
  } else {
    v = checkSubscribe(readCredentials(request), channel);
    if (v.status == 401) counters_.unauthorized++;
    if (v.status == 403) counters_.forbidden++;
  }
  if (v.ok()) {
    auth->tokenExpiresAt = v.tokenExpiresAt;
    return true;
  }
  refuse(response, v, "GET /" + transport + " " + channel, auth->session,
         auth->address);
  return false;
}

bool Security::openStream(Poco::Net::HTTPServerRequest& request,
                          Poco::Net::HTTPServerResponse& response,
                          const SubscribeAuth& auth,
                          const std::string& channel) {
  int fd = static_cast<Poco::Net::HTTPServerRequestImpl&>(request)
               .socket()
               .impl()
               ->sockfd();
  Verdict v =
      admitStream(fd, {auth.session, auth.address, channel, auth.transport});
  if (v.ok()) {
    // Its kept-alive entry is the stream's now, released by the hub.
    if (GuardedConnectionState* conn = currentConnection())
      conn->onEnd = nullptr;
    if (logger().debug())
      logger().debug("session %s: %s on channel %s from %s", auth.session,
                     auth.transport, channel, auth.address);
    return true;
  }
  refuse(response, v, "GET /" + auth.transport + " " + channel, auth.session,
         auth.address);
  return false;
}

// ---- /metrics
// ----------------------------------------------------------------

std::string securityMetrics(Security& security) {
  const SecurityCounters& c = security.counters();
  std::string out;
  auto line = [&out](const std::string& sample,
                     const std::atomic<uint64_t>& v) {
    out +=
        sample + ' ' + std::to_string(v.load(std::memory_order_relaxed)) + '\n';
  };
  out +=
      "# HELP rtdemo_refusals_total Requests refused by an authentication, "
      "origin or "
      "limit check (nothing was published or stored), by reason.\n"
      "# TYPE rtdemo_refusals_total counter\n";
  line("rtdemo_refusals_total{reason=\"unauthorized\",code=\"401\"}",
       c.unauthorized);
  line("rtdemo_refusals_total{reason=\"forbidden\",code=\"403\"}", c.forbidden);
  line("rtdemo_refusals_total{reason=\"cross_site\",code=\"403\"}",
       c.crossSite);
  line("rtdemo_refusals_total{reason=\"preflight\",code=\"403\"}",
       c.preflightRefused);
  line("rtdemo_refusals_total{reason=\"send_rate\",code=\"429\"}",
       c.sendRateLimited);
  line("rtdemo_refusals_total{reason=\"streams_per_ip\",code=\"429\"}",
       c.streamsPerAddress);
  line("rtdemo_refusals_total{reason=\"streams_total\",code=\"503\"}",
       c.streamsTotal);
  line("rtdemo_refusals_total{reason=\"channel\",code=\"400\"}",
       c.channelRefused);
  line("rtdemo_refusals_total{reason=\"request_line\",code=\"414\"}",
       c.requestLineTooLong);
  line("rtdemo_refusals_total{reason=\"headers\",code=\"431\"}",
       c.headersTooLarge);
  out +=
      "# HELP rtdemo_slow_handshakes_total Connections cut off for not sending "
      "a request "
      "head (or publish body) within rtdemo.limits.handshake.seconds.\n"
      "# TYPE rtdemo_slow_handshakes_total counter\n";
  line("rtdemo_slow_handshakes_total", c.slowHandshakes);
  out +=
      "# HELP rtdemo_keepalive_declined_total Answers that closed their "
      "connection (Connection: close) instead of keeping it alive: the pool "
      "had no thread to spare for an idle connection (every thread held, or "
      "rtdemo.limits.keep-alive.idle-percent of them idle already), or the "
      "client address held its connection limit.\n"
      "# TYPE rtdemo_keepalive_declined_total counter\n";
  line("rtdemo_keepalive_declined_total{reason=\"pool_busy\"}",
       c.keepAliveDeclinedBusy);
  line("rtdemo_keepalive_declined_total{reason=\"per_ip\"}",
       c.keepAliveDeclinedPerIp);
  HandshakeWatchdog::PoolStats pools[kPools];
  for (size_t p = 0; p < kPools; ++p)
    pools[p] = security.watchdog().stats(static_cast<Pool>(p));
  auto perPool = [&](const char* name, const char* type, const char* help,
                     auto field) {
    out += std::string("# HELP ") + name + ' ' + help + "\n# TYPE " + name +
           ' ' + type + '\n';
    for (size_t p = 0; p < kPools; ++p)
      out += std::string(name) + "{pool=\"" + poolName(static_cast<Pool>(p)) +
             "\"} " + std::to_string(field(pools[p])) + '\n';
  };
  using Stats = HandshakeWatchdog::PoolStats;
  perPool("rtdemo_idle_connections_closed_total", "counter",
          "Kept-alive connections closed while idle because every thread "
          "of their pool was held.",
          [](const Stats& s) { return s.idleClosed; });
  perPool("rtdemo_pool_connections", "gauge",
          "HTTP connections holding a pool thread now (the server's pool, "
          "and the one for connections the hub hands back).",
          [](const Stats& s) { return s.connections; });
  perPool("rtdemo_pool_idle_connections", "gauge",
          "Of those, connections kept alive and waiting for their next "
          "request.",
          [](const Stats& s) { return s.idle; });
  perPool("rtdemo_pool_threads", "gauge",
          "Threads each pool may run at once (rtdemo.http.threads).",
          [](const Stats& s) { return s.threads; });
  out +=
      "# HELP rtdemo_sessions_total Requests that reached a publish or "
      "subscribe handler, "
      "by transport; each answer names its session in X-Session-Id.\n"
      "# TYPE rtdemo_sessions_total counter\n";
  line("rtdemo_sessions_total{transport=\"sse\"}", c.sessionsSse);
  line("rtdemo_sessions_total{transport=\"poll\"}", c.sessionsPoll);
  line("rtdemo_sessions_total{transport=\"send\"}", c.sessionsSend);
  line("rtdemo_sessions_total{transport=\"ws\"}", c.sessionsWs);
  out +=
      "# HELP rtdemo_tracked_streams Subscriber connections counted against "
      "the stream "
      "limits now (closed ones leave at the next prune).\n"
      "# TYPE rtdemo_tracked_streams gauge\n";
  out += "rtdemo_tracked_streams " +
         std::to_string(security.connections().tracked()) + '\n';
  out +=
      "# HELP rtdemo_tracked_keepalive HTTP connections kept alive between "
      "requests, counted against the per-address connection limit.\n"
      "# TYPE rtdemo_tracked_keepalive gauge\n";
  out += "rtdemo_tracked_keepalive " +
         std::to_string(security.connections().trackedIdle()) + '\n';
  return out;
}

}  // namespace rtdemo
