// WebSocket framing (RFC 6455): the encoder for server frames and an
// incremental decoder for client frames.
//
// The hub writes frames into a connection's own OutBuffer instead of calling
// Poco::Net::WebSocket::sendFrame, which on a non-blocking socket can report
// a whole frame written after a partial write and so corrupt the stream.
// Every frame is built here completely, then queued like any other bytes.
//
// The decoder enforces what a server must: client frames are masked, RSV bits
// are zero, control frames are short and unfragmented, text is UTF-8, and a
// message is no larger than the configured limit. It reports the close code
// to send when a client breaks a rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rtdemo {
namespace ws {

enum Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes used by rtdemo.
constexpr uint16_t kCloseNormal = 1000;
constexpr uint16_t kCloseGoingAway = 1001;
constexpr uint16_t kCloseProtocolError = 1002;
constexpr uint16_t kCloseUnsupportedData = 1003;
constexpr uint16_t kCloseInvalidPayload = 1007;
constexpr uint16_t kClosePolicyViolation = 1008;
constexpr uint16_t kCloseTooBig = 1009;

// One unmasked, final server frame.
std::string encodeFrame(Opcode opcode, std::string_view payload);
// A close frame with a status code and a short reason. The reason is cut to
// the 123 bytes a control frame has room for at a character boundary, and
// anything in it that is not UTF-8 becomes U+FFFD, so the frame is always
// one a client accepts (RFC 6455 5.5.1).
std::string encodeClose(uint16_t code, std::string_view reason);

struct Message {
  Opcode opcode;        // kText, kClose, kPing or kPong (binary is refused)
  std::string payload;  // unmasked; for kText the whole reassembled message
};

class Decoder {
 public:
  explicit Decoder(size_t maxMessageBytes) : max_(maxMessageBytes) {}

  // Consumes `n` bytes. Complete messages are appended to *out. Returns false
  // when the client broke the protocol; *closeCode and *reason then say why,
  // and the decoder must not be fed again.
  bool feed(const char* data, size_t n, std::vector<Message>* out,
            uint16_t* closeCode, std::string* reason);

 private:
  bool fail(uint16_t code, const char* why, uint16_t* closeCode,
            std::string* reason);

  const size_t max_;
  std::string buf_;        // bytes of an incomplete frame
  std::string fragments_;  // a text message arriving in pieces
  bool inFragments_ = false;
};

}  // namespace ws
}  // namespace rtdemo
