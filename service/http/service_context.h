// ServiceContext: what every request handler needs, owned in one place.
//
// The handler factory holds a shared_ptr to it, and so does the application;
// whichever lets go last destroys it, so a handler that is still finishing
// while the server stops never sees freed state (POCO's TCPServer::stop()
// does not wait for running handlers).
#pragma once

#include <atomic>
#include <memory>

#include "service/hub/hub.h"
#include "service/metrics/latency_histogram.h"
#include "service/security/security.h"
#include "service/metrics/send_counters.h"
#include "service/app/settings.h"
#include "storage/broker.h"

namespace rtdemo {

struct ServiceContext {
  Settings settings;
  std::string webRoot;            // resolved absolute path
  std::unique_ptr<Broker> broker;
  std::unique_ptr<Security> security;  // auth, origins, limits (security.h)
  // Destroyed before broker and security (declared after): its WebSocket
  // gates point at security.
  std::unique_ptr<Hub> hub;
  SendCounters sends;
  std::atomic<uint64_t> demoPublished{0};  // by the demo ticker
  LatencyHistogram publishLatency;  // Broker::publish as POST /send sees it
  std::atomic<int> inFlight{0};   // handlers running now, for a clean stop
};

}  // namespace rtdemo
