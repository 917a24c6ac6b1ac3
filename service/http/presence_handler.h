// Handlers of issue 9's endpoints: GET /presence and the CORS preflight
// OPTIONS /send. Declared here rather than in handlers.h to keep the
// security work in its own files; both derive from the common Handler.
#pragma once

#include "service/http/handlers.h"

namespace rtdemo {

// GET /presence?channel=C: the sessions subscribed to C now, grouped by
// transport. 404 unless rtdemo.presence = on; private channels need the same
// subscribe token as /events.
class PresenceHandler : public Handler {
 public:
  using Handler::Handler;

 protected:
  void handle(Poco::Net::HTTPServerRequest&,
              Poco::Net::HTTPServerResponse&) override;
};

// OPTIONS /send: 204 with Access-Control-Allow-* for a listed origin, else
// 403 (cors.h).
class PreflightHandler : public Handler {
 public:
  using Handler::Handler;

 protected:
  void handle(Poco::Net::HTTPServerRequest&,
              Poco::Net::HTTPServerResponse&) override;
};

}  // namespace rtdemo
