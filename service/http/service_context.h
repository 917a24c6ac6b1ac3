// ServiceContext: what every request handler needs, owned in one place.
//
// The handler factory holds a shared_ptr to it, and so does the application;
// whichever lets go last destroys it, so a handler that is still finishing
// while the server stops never sees freed state (POCO's TCPServer::stop()
// does not wait for running handlers). app/ fills it before the server
// starts.
#pragma once

#include <atomic>
#include <memory>

#include "service/http/handler_settings.h"
#include "service/http/request_security.h"
#include "service/hub/hub.h"
#include "service/metrics/latency_histogram.h"
#include "service/metrics/send_counters.h"
#include "service/security/security.h"
#include "storage/broker.h"

namespace rtdemo {

struct ServiceContext {
  HandlerSettings settings;
  std::unique_ptr<Broker> broker;
  std::unique_ptr<Security> security;  // the rules and limits (security.h)
  // The HTTP hooks over `security` (request_security.h).
  std::unique_ptr<RequestSecurity> requestSecurity;
  // Destroyed before broker and security (declared after): its WebSocket
  // gates point at security.
  std::unique_ptr<Hub> hub;
  SendCounters sends;
  std::atomic<uint64_t> demoPublished{0};  // by the demo ticker
  LatencyHistogram publishLatency;  // Broker::publish as POST /send sees it
  std::atomic<int> inFlight{0};   // handlers running now, for a clean stop
};

}  // namespace rtdemo
