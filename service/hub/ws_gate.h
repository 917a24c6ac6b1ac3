// WsGate: what one WebSocket may do, decided by the security layer at the
// upgrade (http/ws_handler.cc builds one from security/) and asked by the
// hub for every later subscribe and publish message.
//
// The hub owns the gate with its connection and calls it on the loop
// thread: an implementation must not block.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rtdemo {

class WsGate {
 public:
  struct Answer {
    int status = 0;  // 0: allowed; else 401, 403 or 429
    std::string error;
    // For an allowed subscribe: when the token that allowed it expires
    // (seconds since 1970); the hub ends the subscription then.
    std::optional<int64_t> expiresAt;
  };
  virtual ~WsGate() = default;
  virtual Answer maySubscribe(const std::string& channel) = 0;
  virtual Answer mayPublish(const std::string& channel) = 0;
};

}  // namespace rtdemo
