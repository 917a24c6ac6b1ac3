// Implementation of WebSocket framing (see ws_frame.h).
#include "service/protocol/ws_frame.h"

#include "service/protocol/validation.h"

namespace rtdemo {
namespace ws {

std::string encodeFrame(Opcode opcode, std::string_view payload) {
  std::string f;
  f.reserve(payload.size() + 10);
  f.push_back(static_cast<char>(0x80 | opcode));
  const uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    f.push_back(126);
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8)
      f.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  f.append(payload);
  return f;
}

std::string encodeClose(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  // Control frames carry at most 125 bytes, and the reason must be UTF-8
  // (RFC 6455 5.5.1): a byte cut blindly at 123 could split a character,
  // which a browser takes as a protocol failure of its own (1007).
  payload.append(utf8Excerpt(reason, 123));
  return encodeFrame(kClose, payload);
}

bool isValidCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

CloseReply closeReply(std::string_view body) {
  if (body.empty()) return CloseReply{kCloseNormal, ""};
  if (body.size() == 1) return CloseReply{kCloseProtocolError, "close body of one byte"};
  const uint16_t code = static_cast<uint16_t>((static_cast<uint8_t>(body[0]) << 8) |
                                              static_cast<uint8_t>(body[1]));
  if (!isValidCloseCode(code)) return CloseReply{kCloseProtocolError, "invalid close code"};
  if (!isValidUtf8(body.substr(2)))
    return CloseReply{kCloseInvalidPayload, "close reason is not valid UTF-8"};
  return CloseReply{code, ""};
}

void Decoder::release() {
  std::string().swap(buf_);
  std::string().swap(fragments_);
  utf8Checked_ = 0;
}

bool Decoder::fail(uint16_t code, const char* why, uint16_t* closeCode,
                   std::string* reason) {
  failCode_ = code;
  failWhy_ = why;
  release();
  *closeCode = code;
  *reason = why;
  return false;
}

bool Decoder::feed(const char* data, size_t n, std::vector<Message>* out,
                   uint16_t* closeCode, std::string* reason) {
  if (failCode_ != 0) return fail(failCode_, failWhy_, closeCode, reason);
  if (closed_) return true;  // whatever follows a close is not read
  buf_.append(data, n);
  size_t pos = 0;
  for (;;) {
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.data()) + pos;
    const size_t avail = buf_.size() - pos;
    if (avail < 2) break;
    const bool fin = p[0] & 0x80;
    const uint8_t rsv = p[0] & 0x70;
    const uint8_t opcode = p[0] & 0x0F;
    const bool masked = p[1] & 0x80;
    const bool control = opcode & 0x8;
    // Everything the first two bytes decide is refused before the rest of
    // the frame is waited for (RFC 6455 5.2, 5.4, 5.5).
    if (rsv) return fail(kCloseProtocolError, "reserved bits set", closeCode, reason);
    if (!masked) return fail(kCloseProtocolError, "client frames must be masked", closeCode, reason);
    switch (opcode) {
      case kText:
        if (inFragments_)
          return fail(kCloseProtocolError, "new message inside a fragmented one", closeCode, reason);
        break;
      case kContinuation:
        if (!inFragments_)
          return fail(kCloseProtocolError, "continuation without a message", closeCode, reason);
        break;
      case kBinary:
        return fail(kCloseUnsupportedData, "binary messages are not supported", closeCode, reason);
      case kClose:
      case kPing:
      case kPong:
        if (!fin) return fail(kCloseProtocolError, "fragmented control frame", closeCode, reason);
        break;
      default:
        return fail(kCloseProtocolError, "reserved opcode", closeCode, reason);
    }
    uint64_t len = p[1] & 0x7F;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t(p[2]) << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    if (control && len > 125)
      return fail(kCloseProtocolError, "control frame longer than 125 bytes", closeCode, reason);
    // A client picks `len`, up to 2^64-1: never add to it. fragments_ never
    // exceeds max_, so the subtraction cannot wrap either. A 64-bit length
    // with its top bit set (which RFC 6455 5.2 forbids) is over any limit a
    // size_t can hold, and so refused here like any other too-big message.
    if (!control && (len > max_ || len > max_ - fragments_.size()))
      return fail(kCloseTooBig, "message too large", closeCode, reason);
    // From here len <= 125 or len <= max_: it fits a size_t, and so does
    // header + 4 + len.
    if (avail - header < 4 || avail - header - 4 < len) break;
    const unsigned char* mask = p + header;
    const size_t size = static_cast<size_t>(len);
    std::string payload(reinterpret_cast<const char*>(p + header + 4), size);
    for (size_t i = 0; i < size; ++i) payload[i] ^= static_cast<char>(mask[i % 4]);
    pos += header + 4 + size;

    if (!control) {
      fragments_.append(payload);
      // Check what arrived so far: a character may still be cut at the end
      // of a fragment, but never at the end of the message (RFC 6455 8.1).
      Utf8Scan scan = scanUtf8(std::string_view(fragments_).substr(utf8Checked_));
      utf8Checked_ += scan.complete;
      if (!scan.valid || (fin && utf8Checked_ != fragments_.size()))
        return fail(kCloseInvalidPayload, "text is not valid UTF-8", closeCode, reason);
      inFragments_ = !fin;
      if (fin) {
        out->push_back(Message{kText, std::move(fragments_)});
        fragments_.clear();
        utf8Checked_ = 0;
      }
      continue;
    }
    out->push_back(Message{static_cast<Opcode>(opcode), std::move(payload)});
    if (opcode == kClose) {
      closed_ = true;
      release();
      return true;
    }
  }
  buf_.erase(0, pos);
  return true;
}

}  // namespace ws
}  // namespace rtdemo
