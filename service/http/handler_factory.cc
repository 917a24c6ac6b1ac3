// Routing table of the service (see handler_factory.h).
#include "service/http/handler_factory.h"

#include "Poco/Net/HTTPServerRequest.h"
#include "Poco/URI.h"
#include "service/http/handlers.h"
#include "service/http/presence_handler.h"
#include "service/http/streams_handler.h"

namespace rtdemo {

Poco::Net::HTTPRequestHandler* HandlerFactory::createRequestHandler(
    const Poco::Net::HTTPServerRequest& request) {
  // The path percent-decoded, as every handler reads it: /st%61tic/app.js
  // is /static/app.js.
  std::string path;
  try {
    path = Poco::URI(request.getURI()).getPath();
  } catch (const std::exception&) {
    return new ErrorHandler(ctx_, 400, "", "malformed path");
  }
  const std::string& method = request.getMethod();
  bool get = method == "GET" || method == "HEAD";

  if (path == "/send") {
    if (method == "POST") return new SendHandler(ctx_);
    if (method == "OPTIONS") return new PreflightHandler(ctx_);  // CORS (cors.h)
    return new ErrorHandler(ctx_, 405, "POST");
  }
  if (path == "/ws") {
    if (!get) return new ErrorHandler(ctx_, 405, "GET");
    return new WebSocketHandler(ctx_);
  }
  if (path == "/events" || path == "/poll" || path == "/healthz" || path == "/metrics" ||
      path == "/" || path == "/index.html" || path.rfind("/static/", 0) == 0) {
    if (!get) return new ErrorHandler(ctx_, 405, "GET, HEAD");
    if (path == "/events") return new EventsHandler(ctx_);
    if (path == "/poll") return new PollHandler(ctx_);
    if (path == "/healthz") return new HealthHandler(ctx_);
    if (path == "/metrics") return new MetricsHandler(ctx_);
    return new StaticFileHandler(ctx_, path);
  }
  // Durable Streams (streams_handler.h): the name is the rest of the path,
  // checked by the handler against the channel rules.
  static const std::string kStreams = "/v1/stream/";
  if (path.compare(0, kStreams.size(), kStreams) == 0) {
    if (method == "PUT" || method == "POST" || method == "DELETE" || get ||
        method == "OPTIONS")
      return new StreamHandler(ctx_, path.substr(kStreams.size()));
    return new ErrorHandler(ctx_, 405, "GET, HEAD, POST, PUT, DELETE, OPTIONS");
  }
  if (path == "/presence") {
    if (!get) return new ErrorHandler(ctx_, 405, "GET, HEAD");
    return new PresenceHandler(ctx_);
  }
  return new ErrorHandler(ctx_, 404, "");
}

}  // namespace rtdemo
