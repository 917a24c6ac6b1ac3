// Masked client frames (see ws_frame_writer.h).
#include "ws_frame_writer.h"

namespace bench {

std::string encodeMaskedFrame(WsOpcode opcode, const char* payload, size_t len,
                              uint32_t mask) {
  std::string f;
  f.reserve(len + 14);
  f.push_back(static_cast<char>(0x80 | opcode));
  const uint64_t n = len;
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      f.push_back(static_cast<char>((n >> shift) & 0xFF));
    }
  }
  const char key[4] = {static_cast<char>(mask >> 24),
                       static_cast<char>(mask >> 16),
                       static_cast<char>(mask >> 8), static_cast<char>(mask)};
  f.append(key, 4);
  for (size_t i = 0; i < len; ++i) f.push_back(payload[i] ^ key[i % 4]);
  return f;
}

}  // namespace bench
