// HandlerSettings: the configuration the request handlers read, and nothing
// else.
//
// app/ reads and checks every key (app/settings.h) and fills this from the
// result when it builds the ServiceContext, so http/ depends on no part of
// the application: a handler that needs another setting gets a field here.
// Every field is set before the server starts and constant afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rtdemo {

struct HandlerSettings {
  std::string webRoot;           // absolute path of index.html and static/
  int pollTimeoutSeconds = 0;    // rtdemo.poll.timeout.seconds: longest wait
  int pollMaxBatch = 0;          // rtdemo.poll.max-batch
  int retryMs = 0;               // rtdemo.retry.ms: the SSE retry: base
  int retryJitterMs = 0;         // rtdemo.retry.jitter.ms: random extra, per stream
  size_t streamBufferBytes = 0;  // rtdemo.stream.buffer.bytes (a poll page)
  size_t sendMaxBytes = 0;       // rtdemo.send.max-bytes: POST /send data
  size_t batchMaxMessages = 0;   // rtdemo.send.batch.max-messages
  uint64_t batchMaxBytes = 0;    // rtdemo.send.batch.max-bytes
  size_t streamMaxBytes = 0;     // rtdemo.streams.max-bytes: a /v1/stream body
  // The history caps, shown by /metrics next to the history's own gauges.
  uint64_t historyMaxBytes = 0;    // rtdemo.history.max-bytes
  size_t historyMaxChannels = 0;   // rtdemo.history.max-channels
};

}  // namespace rtdemo
