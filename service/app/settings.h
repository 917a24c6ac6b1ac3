// Settings: every rtdemo.* configuration key, read and checked in one place.
//
// The defaults here are the documented defaults of etc/rtdemo.properties.
// loadSettings() either fills a complete, valid Settings or names the first
// bad key, so the service never starts half-configured.
#pragma once

#include <string>

#include "Poco/Util/AbstractConfiguration.h"
#include "service/security/client_address.h"
#include "service/security/security_settings.h"
#include "storage/broker_config.h"
#include "storage/status.h"

namespace rtdemo {

struct Settings {
  // Listening.
  std::string bind = "127.0.0.1";
  int port = 5000;           // 0: a port the OS picks (see portFile)
  // rtdemo.reuse-port: bind with SO_REUSEPORT, so that several rtdemo
  // processes (sharing one Redis) listen on one address and the kernel
  // spreads new connections among them.
  bool reusePort = false;
  // Where to write the port actually bound, once listening; empty: nowhere.
  // For whoever starts rtdemo on port 0 (tests, scripts) and must learn it.
  std::string portFile;
  int httpThreads = 32;      // POCO pool: short requests only
  int httpQueue = 20000;     // accepted connections waiting for a pool thread
  int hubLoops = 2;          // event-loop threads that own streams and polls
  std::string hubIoUring = "auto";  // auto | on | off: batched fan-out sends
  // Peers allowed to name the client in X-Forwarded-For; empty trusts none.
  TrustedProxies trustedProxies;

  // Streams and polls.
  int heartbeatSeconds = 15;
  int pollTimeoutSeconds = 25;
  int pollMaxBatch = 100;
  // The SSE retry: of each stream, drawn from [retryMs, retryMs +
  // retryJitterMs] (protocol/sse_retry.h).
  int retryMs = 2000;
  int retryJitterMs = 2000;
  size_t streamBufferBytes = 1 << 20;  // slow-subscriber cut-off
  int hubWorkerQueue = 4096;   // client requests waiting for the hub's workers
  int wsSubscribeRate = 20;    // subscribes per second per WebSocket
  int wsInFlight = 16;         // subscribes and publishes one WebSocket has pending

  // Publishing.
  size_t sendMaxBytes = 65536;
  size_t streamMaxBytes = 16 << 20;  // rtdemo.streams.max-bytes

  // Demo ticker: 0 turns it off.
  int demoIntervalSeconds = 5;
  std::string demoChannel = "demo";

  // Files and logs. An empty webRoot is found next to the binary.
  std::string webRoot;
  std::string logLevel = "information";

  BrokerConfig broker;

  // rtdemo.auth.*, rtdemo.cors.*, rtdemo.presence, rtdemo.limits.*
  SecuritySettings security;
};

// Reads and validates every key. On error returns InvalidArgument naming the
// key, the bad value and what is expected.
Status loadSettings(const Poco::Util::AbstractConfiguration& config,
                    Settings* out);

}  // namespace rtdemo
