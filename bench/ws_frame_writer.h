// Builds the frames a WebSocket client sends (RFC 6455 section 5.3): final,
// masked with a 4-byte key. The subscribers send only control frames (pong,
// close), but any opcode and size is encoded correctly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ws_frame_reader.h"

namespace bench {

// One final frame carrying [payload, payload+len) masked with `mask`.
std::string encodeMaskedFrame(WsOpcode opcode, const char* payload, size_t len,
                              uint32_t mask);

// A fresh masking key per frame, as RFC 6455 asks of clients. Not
// cryptographic: its only job here is to exercise the server's unmasking.
class WsMaskSource {
 public:
  explicit WsMaskSource(uint32_t seed) : state_(seed | 1) {}
  uint32_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

 private:
  uint32_t state_;
};

}  // namespace bench
