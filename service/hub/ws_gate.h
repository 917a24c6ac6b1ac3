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
#include <vector>

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
  // A batch publish: one publish against the rate, then the channel rules
  // for each of `channels` (a batch's, in order). On a refusal *index is
  // the position in `channels` it is about. The default asks mayPublish()
  // for each (a gate without a rate of its own).
  virtual Answer mayPublishAll(const std::vector<std::string>& channels, size_t* index) {
    for (size_t i = 0; i < channels.size(); ++i) {
      Answer a = mayPublish(channels[i]);
      if (a.status != 0) {
        *index = i;
        return a;
      }
    }
    return Answer{};
  }
};

}  // namespace rtdemo
