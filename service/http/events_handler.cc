// GET /events: open a Server-Sent Events stream and hand it to the hub.
//
// Everything that can be refused is refused here, with a JSON error, before
// the 200 goes out: after that the browser treats the stream as accepted, and
// a non-200 would make EventSource give up for good.
#include "Poco/Net/HTTPServerRequest.h"
#include "service/http/handlers.h"
#include "service/http/http_util.h"
#include "service/protocol/sse_encoder.h"
#include "service/protocol/sse_retry.h"
#include "service/protocol/validation.h"

namespace rtdemo {

void EventsHandler::handle(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) {
  Query query;
  std::string channel;
  if (!readSubscribeQuery(request, response, &query, &channel)) return;
  // Private channels are checked before any history is read
  // (request_security.h).
  RequestSecurity& hooks = *ctx_->requestSecurity;
  SubscribeAuth auth;
  if (!hooks.authorizeSubscribe(request, response, channel, Transport::kSse, &auth)) return;
  // A reconnecting EventSource sends Last-Event-ID; a first connection can
  // only use the query. The header wins when both are present.
  std::string cursor = request.get("Last-Event-ID", query.get("last_event_id"));
  if (std::string why = checkCursor("last event id", cursor); !why.empty()) {
    sendError(response, 400, why);
    return;
  }
  if (!hooks.openStream(request, response, auth, channel)) return;

  if (cursor.empty()) {
    // Live only, from now: "now" must be taken before the client sees the
    // stream open, or a message it publishes right after could be missed.
    // If the backend cannot say (Redis away), deliver whatever comes live.
    if (!ctx_->broker->lastId(channel, &cursor).ok()) cursor.clear();
  }

  response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType("text/event-stream; charset=utf-8");
  response.set("Cache-Control", "no-cache");
  response.set("X-Accel-Buffering", "no");
  response.setChunkedTransferEncoding(false);
  // No length and no chunking: the stream ends when the connection does.
  response.setKeepAlive(false);
  std::ostream& out = response.send();
  // Each stream its own delay, so the clients of a dead instance do not all
  // reconnect at once (sse_retry.h).
  const HandlerSettings& hs = ctx_->settings;
  out << sse::encodePreamble(sse::RetryDelay(hs.retryMs, hs.retryJitterMs).next());
  out.flush();
  if (!out) return;  // the client is already gone

  // Anything the client sent after its request is ignored, as on the hub.
  ctx_->hub->addStream(detachSocket(request).socket, channel, cursor, auth.tokenExpiresAt);
}

}  // namespace rtdemo
