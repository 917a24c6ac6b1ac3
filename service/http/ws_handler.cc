// GET /ws: upgrade to WebSocket with POCO's handshake, then hand the socket
// to the hub, which frames and reads everything itself (ws_frame.h).
//
// `?channel=C&last_id=ID` subscribes at once, like /events; more channels
// come with subscribe messages (docs/protocol.md). The security checks of
// SSE apply at the upgrade (token, private channels, stream limits), plus
// the Origin check for cookie auth that browsers do not enforce on
// WebSockets; later subscribe and publish messages ask the same rules
// through a WsGate kept on the connection.
#include "Poco/Net/NetException.h"
#include "Poco/Net/WebSocket.h"
#include "service/http/handlers.h"
#include "service/http/http_util.h"
#include "service/protocol/validation.h"

namespace rtdemo {
namespace {

// The security layer's answer for one WebSocket. Holds what was learned at
// the upgrade. `security` must outlive it (ServiceContext destroys the hub,
// and with it every gate, first).
class SecurityWsGate : public WsGate {
 public:
  SecurityWsGate(Security* security, Credentials credentials, std::string address)
      : security_(security), credentials_(std::move(credentials)), address_(std::move(address)) {}

  Answer maySubscribe(const std::string& channel) override {
    return answer(security_->checkSubscribe(credentials_, channel));
  }

  Answer mayPublish(const std::string& channel) override {
    Verdict v = security_->admitPublish(address_);
    if (v.ok()) v = security_->checkPublish(credentials_, channel);
    return answer(v);
  }

  Answer mayPublishAll(const std::vector<std::string>& channels, size_t* index) override {
    *index = 0;
    Verdict v = security_->admitPublish(address_);
    if (!v.ok()) return answer(v);
    for (size_t i = 0; i < channels.size(); ++i) {
      // A batch to one channel is one check (a token's claim is the same).
      if (i > 0 && channels[i] == channels[i - 1]) continue;
      v = security_->checkPublish(credentials_, channels[i]);
      if (!v.ok()) {
        *index = i;
        return answer(v);
      }
    }
    return answer(v);
  }

 private:
  static Answer answer(const Verdict& v) { return Answer{v.status, v.error, v.tokenExpiresAt}; }

  Security* const security_;
  const Credentials credentials_;
  const std::string address_;
};

}  // namespace

void WebSocketHandler::handle(Poco::Net::HTTPServerRequest& request,
                              Poco::Net::HTTPServerResponse& response) {
  Query query;
  std::string error;
  if (!parseQuery(request, &query, &error)) {
    sendError(response, 400, error);
    return;
  }
  std::string channel = query.get("channel");
  if (!channel.empty()) {
    error = checkChannelName(channel);
    if (!error.empty()) {
      sendError(response, 400, error);
      return;
    }
  }
  std::string cursor = query.get("last_id");
  if (std::string why = checkCursor("last_id", cursor); !why.empty()) {
    sendError(response, 400, why);
    return;
  }

  Security& security = *ctx_->security;
  RequestSecurity& hooks = *ctx_->requestSecurity;
  Credentials credentials = hooks.readCredentials(request);
  if (credentials.source == Credentials::Source::kCookie) {
    // Browsers send cookies on cross-site WebSocket upgrades and apply no
    // CORS to them, so the Origin is checked here (cross-site hijacking).
    std::string why = hooks.originAllowedForCookie(request);
    if (!why.empty()) {
      sendError(response, 403, why);
      return;
    }
  }
  SubscribeAuth auth{hooks.sessionFor(request), hooks.clientAddressOf(request),
                     Transport::kWebSocket};
  if (!channel.empty() &&
      !hooks.authorizeSubscribe(request, response, channel, Transport::kWebSocket, &auth))
    return;
  if (!hooks.openStream(request, response, auth, channel)) return;

  if (!channel.empty() && cursor.empty()) {
    // Live from now; "now" taken before the client sees the socket open.
    if (!ctx_->broker->lastId(channel, &cursor).ok()) cursor.clear();
  }
  try {
    // Frames sent together with the upgrade: taken before POCO's
    // WebSocket moves them into a buffer that only its own reads see.
    std::string early = takeBuffered(request);
    // Sends 101 and detaches the socket from POCO's session.
    Poco::Net::WebSocket socket(request, response);
    ctx_->hub->addWebSocket(socket, channel, cursor,
                            std::make_unique<SecurityWsGate>(&security, credentials, auth.address),
                            std::move(early), auth.tokenExpiresAt);
  } catch (const Poco::Net::WebSocketException& e) {
    if (response.sent()) return;
    if (e.code() == Poco::Net::WebSocket::WS_ERR_HANDSHAKE_UNSUPPORTED_VERSION) {
      // RFC 6455 4.2.2: name the version we speak.
      response.set("Sec-WebSocket-Version", "13");
      sendError(response, 426, "unsupported WebSocket version; use 13");
      return;
    }
    sendError(response, 400, "WebSocket handshake failed: " + e.message());
  }
}

}  // namespace rtdemo
