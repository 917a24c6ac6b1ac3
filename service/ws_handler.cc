// GET /ws: upgrade to WebSocket with POCO's handshake, then hand the socket
// to the hub, which frames and reads everything itself (ws_frame.h).
//
// `?channel=C&last_id=ID` subscribes at once, like /events; more channels
// come with subscribe messages (docs/protocol.md).
#include "Poco/Net/NetException.h"
#include "Poco/Net/WebSocket.h"
#include "service/handlers.h"
#include "service/http_util.h"
#include "service/validation.h"

namespace rtdemo {

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
  if (cursor.size() > kMaxCursorLength) {
    sendError(response, 400, "last_id is longer than 128 characters");
    return;
  }
  if (!channel.empty() && cursor.empty()) {
    // Live from now; "now" taken before the client sees the socket open.
    if (!ctx_->broker->lastId(channel, &cursor).ok()) cursor.clear();
  }
  try {
    // Sends 101 and detaches the socket from POCO's session.
    Poco::Net::WebSocket socket(request, response);
    ctx_->hub->addWebSocket(socket, channel, cursor);
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
