// HubOptions: what the hub and its loops are configured with, filled once by
// the application from rtdemo.* settings (service/app/rtdemo_app.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "Poco/Net/StreamSocket.h"
#include "service/hub/hub_clock.h"
#include "service/protocol/poll_continuation.h"
#include "service/protocol/send_batch.h"

namespace rtdemo {

struct HubOptions {
  int loops = 2;
  int heartbeatSeconds = 15;
  size_t maxBufferBytes = 1 << 20;
  size_t pollMaxBatch = 100;
  // Gives an answered keep-alive poll connection back to the HTTP server
  // when its next request arrives (http/connection_returner.h). Empty:
  // answered polls are closed.
  std::function<void(const Poco::Net::StreamSocket&)> handBack;
  int64_t keepAliveIdleMs = 15000;  // how long an answered poll may idle
  int64_t pollTimeoutMaxMs = 25000; // the longest a re-poll may wait
  NextPollLimits nextPollLimits;    // what a re-poll read here may be
  size_t sendMaxBytes = 65536;      // WebSocket publish data limit
  // A WebSocket publish of many messages (rtdemo.send.batch.max-messages
  // and .max-bytes, service/protocol/send_batch.h).
  size_t batchMaxMessages = 1000;
  uint64_t batchMaxBytes = 1 << 20;
  SendLimits sendLimits() const {
    SendLimits limits;
    limits.maxDataBytes = sendMaxBytes;
    limits.maxMessages = batchMaxMessages;
    limits.maxBatchBytes = batchMaxBytes;
    return limits;
  }
  size_t wsMaxSubscriptions = 64;   // channels one WebSocket may hold
  // Subscribes one WebSocket may make per second, in a bucket of
  // wsMaxSubscriptions; beyond it a subscribe is refused with 429.
  double wsSubscribeRate = 20;
  // Subscribes and publishes one WebSocket may have at the workers at once.
  int wsInFlightMax = 16;
  // Client requests (WebSocket subscribes and publishes, re-polls that must
  // read history) waiting for the workers beyond which new ones get a 503.
  size_t workerQueueMax = 4096;
  // The clock skew the token verifier allows past a token's exp
  // (rtdemo.auth.jwt.leeway.seconds): a stream ends when its token would
  // no longer be accepted, so that its reconnect is refused, not let in
  // to be ended again at once.
  int tokenLeewaySeconds = 30;
  // Send a fan-out's writes in one io_uring submission (batch_sender.h)
  // when the kernel allows it; otherwise, and when false, one send() each.
  bool batchSends = true;
  // Told the descriptor of every connection the hub lets go (closed or
  // handed back), so per-address stream limits can be released at once.
  std::function<void(int fd)> onRelease;
  // The time the loops read; tests set their own (hub_clock.h).
  std::shared_ptr<const HubClock> clock = systemHubClock();
};

}  // namespace rtdemo
