// GET /presence and OPTIONS /send (see presence_handler.h).
//
// Presence is read from ConnectionLimits, which already knows every open
// subscriber connection for the stream limits; a connection that closed
// drops out of the answer at once (connection_limits.h prunes the channel
// before listing it). A long-poll session stays listed while its connection
// is open, including the moment between two polls on a kept-alive
// connection. Only session ids and transports are shown: never addresses.
#include "service/http/presence_handler.h"

#include <map>
#include <vector>

#include "service/http/http_util.h"
#include "service/protocol/json_writer.h"
#include "service/http/service_context.h"

namespace rtdemo {

void PresenceHandler::handle(Poco::Net::HTTPServerRequest& request,
                             Poco::Net::HTTPServerResponse& response) {
  Security& security = *ctx_->security;
  if (!security.settings().presence) {
    sendError(response, 404, "not found (presence is off: rtdemo.presence)");
    return;
  }
  Query query;
  std::string channel;
  if (!readSubscribeQuery(request, response, &query, &channel)) return;
  SubscribeAuth auth;
  if (!ctx_->requestSecurity->authorizeSubscribe(request, response, channel,
                                                 Transport::kPresence, &auth))
    return;

  std::map<std::string, std::vector<std::string>> byTransport = {{"sse", {}},
                                                                 {"poll", {}}};
  size_t count = 0;
  for (const Subscriber& s : security.connections().present(channel)) {
    byTransport[transportName(s.transport)].push_back(s.session);
    ++count;
  }
  JsonWriter json;
  json.beginObject();
  json.key("channel");
  json.string(channel);
  json.key("count");
  json.number(static_cast<int64_t>(count));
  json.key("sessions");
  json.beginObject();
  for (auto& [transport, sessions] : byTransport) {
    json.key(transport);
    json.beginArray();
    for (const std::string& id : sessions) json.string(id);
    json.endArray();
  }
  json.endObject();
  json.endObject();
  sendJson(response, 200, json.str());
}

void PreflightHandler::handle(Poco::Net::HTTPServerRequest& request,
                              Poco::Net::HTTPServerResponse& response) {
  ctx_->requestSecurity->answerPreflight(request, response);
}

}  // namespace rtdemo
