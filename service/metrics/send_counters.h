// SendCounters: outcomes of POST /send by status code, for /metrics.
#pragma once

#include <atomic>
#include <cstdint>

namespace rtdemo {

struct SendCounters {
  std::atomic<uint64_t> created{0};       // 201 (one per request, batch or not)
  std::atomic<uint64_t> messages{0};      // messages stored by those (a batch's all)
  std::atomic<uint64_t> badRequest{0};    // 400
  std::atomic<uint64_t> tooLarge{0};      // 413
  std::atomic<uint64_t> unavailable{0};   // 503
  std::atomic<uint64_t> failed{0};        // 500
  std::atomic<uint64_t> backendErrors{0}; // any Status other than OK
};

}  // namespace rtdemo
