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
constexpr uint16_t kCloseTooBig = 1009;

// One unmasked, final server frame.
std::string encodeFrame(Opcode opcode, std::string_view payload);
// A close frame with a status code and a short reason. The reason is cut to
// the 123 bytes a control frame has room for at a character boundary, and
// anything in it that is not UTF-8 becomes U+FFFD, so the frame is always
// one a client accepts (RFC 6455 5.5.1).
std::string encodeClose(uint16_t code, std::string_view reason);

// True for a status code an endpoint may send in a close frame (RFC 6455
// 7.4.1 and 7.4.2, and IANA's registry): 1000-1003, 1007-1014 and
// 3000-4999. 1004-1006 and 1015 are reserved and never sent; 0-999 and
// 1016-2999 are not used; 5000 and up are not defined.
bool isValidCloseCode(uint16_t code);

// What the server answers to a client's close frame, from its body
// (RFC 6455 5.5.1): an empty body or a valid code is echoed back (1000 for
// an empty one); a one-byte body or a code no endpoint may send is a
// protocol error (1002); a reason that is not UTF-8 is 1007 (8.1).
struct CloseReply {
  uint16_t code;
  std::string reason;
};
CloseReply closeReply(std::string_view closePayload);

struct Message {
  Opcode opcode;        // kText, kClose, kPing or kPong (binary is refused)
  std::string payload;  // unmasked; for kText the whole reassembled message
};

// The incremental decoder of one connection's client-to-server byte stream.
// Not thread-safe: one connection's reader feeds it.
//
// The verdict and the messages depend only on the bytes, never on how they
// were cut into feed() calls. Each frame is checked as soon as its header is
// in, so nothing a rule refuses is ever buffered: between calls the decoder
// holds the message being reassembled and one unfinished frame, fewer than
// max message bytes + 139 in all (bufferedBytes()). A text
// message's UTF-8 is checked fragment by fragment, so a bad byte fails the
// connection when its frame arrives, not at the message's end.
// After a close frame the decoder reads nothing more (RFC 6455 5.5.1: no data
// frames follow a close), and after a failure it keeps reporting it.
class Decoder {
 public:
  explicit Decoder(size_t maxMessageBytes) : max_(maxMessageBytes) {}

  // Consumes `n` bytes. Complete messages are appended to *out, in order; a
  // close frame is the last one ever appended. Returns false when the client
  // broke the protocol; *closeCode and *reason then say why (messages that
  // completed before the violation are still appended).
  bool feed(const char* data, size_t n, std::vector<Message>* out,
            uint16_t* closeCode, std::string* reason);

  // Bytes held for frames not yet complete (for tests and the fuzzer).
  size_t bufferedBytes() const { return buf_.size() + fragments_.size(); }

 private:
  bool fail(uint16_t code, const char* why, uint16_t* closeCode,
            std::string* reason);
  // Frees what the buffers hold: nothing more is decoded (closed or failed).
  void release();

  const size_t max_;
  std::string buf_;        // bytes of an incomplete frame
  std::string fragments_;  // a text message arriving in pieces
  size_t utf8Checked_ = 0;  // fragments_ is valid UTF-8 up to here
  bool inFragments_ = false;
  bool closed_ = false;     // a close frame was decoded
  uint16_t failCode_ = 0;   // nonzero once the client broke the protocol
  const char* failWhy_ = "";
};

}  // namespace ws
}  // namespace rtdemo
