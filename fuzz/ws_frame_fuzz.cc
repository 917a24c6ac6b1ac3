// libFuzzer target: the WebSocket frame decoder (service/protocol/ws_frame.h), fed
// what any client can send after the upgrade: arbitrary bytes, cut into
// arbitrary pieces by the network. Besides crashes and sanitizer reports it
// checks the decoder's contract:
//   - no exception escapes feed();
//   - the messages and the verdict (ok, or the close code) are the same
//     whether the stream comes in one piece or in any chunking;
//   - a text message is at most the limit and valid UTF-8, a control frame's
//     payload at most 125 bytes, a close is the last message ever returned;
//   - between calls the decoder holds fewer than limit + 139 bytes
//     (Decoder::bufferedBytes(), ws_frame.h).
//
// Input layout: byte 0 picks the message limit, byte 1 and 2 seed the
// chunking, the rest is the byte stream.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "service/protocol/validation.h"
#include "service/protocol/ws_frame.h"

namespace {

struct Outcome {
  bool ok = true;
  uint16_t code = 0;
  std::vector<rtdemo::ws::Message> messages;
};

// Feeds `stream` in pieces: whole for seed 0, a byte at a time for seed 1,
// else in sizes from a small generator seeded by `seed`.
Outcome decode(size_t limit, const std::string& stream, uint16_t seed) {
  rtdemo::ws::Decoder decoder(limit);
  Outcome r;
  std::string reason;
  uint32_t state = seed;
  size_t pos = 0;
  try {
    while (pos < stream.size() || pos == 0) {
      size_t piece = stream.size() - pos;
      if (seed == 1) {
        piece = std::min(piece, size_t(1));
      } else if (seed != 0) {
        state = state * 1103515245u + 12345u;
        // Mostly small pieces (header bytes one at a time), sometimes large.
        piece = std::min(piece, size_t(1) + ((state >> 16) % ((state & 0x100) ? 300 : 5)));
      }
      uint16_t code = 0;
      bool ok = decoder.feed(stream.data() + pos, piece, &r.messages, &code, &reason);
      pos += piece;
      if (!ok) {
        r.ok = false;
        r.code = code;
        if (code == 0 || reason.empty()) std::abort();
        break;
      }
      if (decoder.bufferedBytes() >= limit + 139) std::abort();
      if (stream.empty()) break;
    }
  } catch (const std::exception&) {
    std::abort();  // an exception here would end the hub loop
  }
  return r;
}

void checkMessages(const Outcome& r, size_t limit) {
  for (size_t i = 0; i < r.messages.size(); ++i) {
    const rtdemo::ws::Message& m = r.messages[i];
    switch (m.opcode) {
      case rtdemo::ws::kText:
        if (m.payload.size() > limit || !rtdemo::isValidUtf8(m.payload)) std::abort();
        break;
      case rtdemo::ws::kClose:
        if (i + 1 != r.messages.size()) std::abort();
        [[fallthrough]];
      case rtdemo::ws::kPing:
      case rtdemo::ws::kPong:
        if (m.payload.size() > 125) std::abort();
        break;
      default:
        std::abort();  // binary and continuations never come out
    }
  }
  if (!r.ok) {
    switch (r.code) {
      case rtdemo::ws::kCloseProtocolError:
      case rtdemo::ws::kCloseUnsupportedData:
      case rtdemo::ws::kCloseInvalidPayload:
      case rtdemo::ws::kCloseTooBig:
        break;
      default:
        std::abort();
    }
  }
}

bool same(const Outcome& a, const Outcome& b) {
  if (a.ok != b.ok || a.code != b.code || a.messages.size() != b.messages.size()) return false;
  for (size_t i = 0; i < a.messages.size(); ++i) {
    if (a.messages[i].opcode != b.messages[i].opcode ||
        a.messages[i].payload != b.messages[i].payload)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 3) return 0;
  static const size_t kLimits[] = {0, 1, 125, 126, 1000, 65535, 65536, 135168};
  const size_t limit = kLimits[bytes[0] % 8];
  const uint16_t seed = static_cast<uint16_t>((bytes[1] << 8) | bytes[2]);
  const std::string stream(reinterpret_cast<const char*>(bytes) + 3, size - 3);

  Outcome whole = decode(limit, stream, 0);
  checkMessages(whole, limit);
  Outcome chunked = decode(limit, stream, seed < 2 ? 2 : seed);
  if (!same(whole, chunked)) std::abort();
  Outcome bytewise = decode(limit, stream, 1);
  if (!same(whole, bytewise)) std::abort();
  return 0;
}
