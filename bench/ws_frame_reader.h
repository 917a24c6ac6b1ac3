// Incremental reader of WebSocket frames sent by a server (RFC 6455). A
// subscriber feeds it whatever recv() returned; it reports whole messages:
// text and binary ones reassembled from their fragments, and each control
// frame (ping, pong, close) as it comes. Server frames must be unmasked, have
// no RSV bits (neither server negotiates an extension with the bench) and
// control frames must be short and final; anything else is a protocol error.
//
// A frame that arrives whole within one read is reported straight from the
// caller's buffer, so the common path copies nothing; only a frame split
// across reads is kept until its last byte arrives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bench {

enum WsOpcode : uint8_t {
  kWsContinuation = 0x0,
  kWsText = 0x1,
  kWsBinary = 0x2,
  kWsClose = 0x8,
  kWsPing = 0x9,
  kWsPong = 0xA,
};

class WsFrameListener {
 public:
  virtual ~WsFrameListener() = default;
  // opcode is kWsText, kWsBinary (a whole message), kWsPing, kWsPong or
  // kWsClose (payload: status code and reason, maybe empty). data is valid
  // only during the call.
  virtual void onWsMessage(WsOpcode opcode, const char* data, size_t len) = 0;
};

class WsFrameReader {
 public:
  // listener must outlive this reader. A message (after reassembly) larger
  // than max_message_bytes is a protocol error.
  explicit WsFrameReader(WsFrameListener* listener,
                         size_t max_message_bytes = 16 << 20)
      : listener_(listener), max_(max_message_bytes) {}

  // Consumes all of [data, data+len). Returns false on a protocol error; the
  // connection should then be dropped and the reader not fed again.
  bool feed(const char* data, size_t len);

  // Forgets everything. Safe to call from a listener callback: feed() then
  // returns true without looking at the rest of its input.
  void reset();

 private:
  static constexpr size_t kError = ~size_t{0};

  // Parses whole frames from [p, p+n); returns the bytes consumed, or
  // kError.
  size_t parse(const char* p, size_t n);
  bool deliver(WsOpcode opcode, bool fin, const char* payload, size_t len);

  WsFrameListener* listener_;  // not owned
  const size_t max_;
  std::string buf_;            // an incomplete frame from earlier reads
  std::string fragments_;      // a fragmented message so far
  WsOpcode fragment_opcode_ = kWsText;
  bool in_fragments_ = false;
  bool in_feed_ = false;
  bool halted_ = false;        // reset() was called during feed()
};

}  // namespace bench
