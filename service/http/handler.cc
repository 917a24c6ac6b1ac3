// The Handler base (see handlers.h) and the small error and health handlers.
#include "Poco/Logger.h"
#include "service/http/handlers.h"
#include "service/http/http_util.h"
#include "service/protocol/json_writer.h"

namespace rtdemo {

void Handler::handleRequest(Poco::Net::HTTPServerRequest& request,
                            Poco::Net::HTTPServerResponse& response) {
  struct InFlight {
    std::atomic<int>& n;
    explicit InFlight(std::atomic<int>& c) : n(c) { ++n; }
    ~InFlight() { --n; }
  } guard(ctx_->inFlight);
  try {
    // Request-line and header limits, and the slowloris deadline
    // (request_security.h); every handler goes through them.
    RequestSecurity* hooks = ctx_->requestSecurity.get();
    if (hooks && !hooks->admitRequest(request, response)) return;
    handle(request, response);
    if (hooks) hooks->finishRequest(request, response);
  } catch (const std::exception& e) {
    Poco::Logger::get("rtdemo").error("%s %s failed: %s", request.getMethod(),
                                      request.getURI(), std::string(e.what()));
    if (!response.sent()) sendError(response, 500, "internal error");
  }
}

void ErrorHandler::handle(Poco::Net::HTTPServerRequest& request,
                          Poco::Net::HTTPServerResponse& response) {
  if (status_ == 405) {
    response.set("Allow", allow_);
    sendError(response, 405,
              "method " + request.getMethod() + " not allowed; use " + allow_);
    return;
  }
  sendError(response, status_, error_);
}

void HealthHandler::handle(Poco::Net::HTTPServerRequest&,
                           Poco::Net::HTTPServerResponse& response) {
  Status s = ctx_->broker->health();
  bool hubAlive = ctx_->hub->alive(10000);
  JsonWriter json;
  json.beginObject();
  json.key("status");
  json.string(s.ok() && hubAlive ? "ok" : "unavailable");
  json.key("backend");
  json.string(ctx_->broker->name());
  if (!s.ok()) {
    json.key("reason");
    json.string(s.toString());
  } else if (!hubAlive) {
    json.key("reason");
    json.string("event loop is not turning");
  }
  json.endObject();
  sendJson(response, s.ok() && hubAlive ? 200 : 503, json.str());
}

}  // namespace rtdemo
