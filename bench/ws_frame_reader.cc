// Incremental reader of server WebSocket frames (see ws_frame_reader.h).
#include "ws_frame_reader.h"

namespace bench {

void WsFrameReader::reset() {
  fragments_.clear();
  in_fragments_ = false;
  if (in_feed_) {
    // parse() may be walking buf_; feed() clears it once parse() returns.
    halted_ = true;
  } else {
    buf_.clear();
  }
}

bool WsFrameReader::feed(const char* data, size_t len) {
  in_feed_ = true;
  halted_ = false;
  size_t used;
  bool ok = true;
  if (buf_.empty()) {
    used = parse(data, len);
    if (used == kError) {
      ok = false;
    } else if (!halted_) {
      buf_.assign(data + used, len - used);
    }
  } else {
    buf_.append(data, len);
    used = parse(buf_.data(), buf_.size());
    if (used == kError) {
      ok = false;
    } else if (!halted_) {
      buf_.erase(0, used);
    }
  }
  in_feed_ = false;
  if (halted_ || !ok) {
    buf_.clear();
    halted_ = false;
  }
  return ok;
}

size_t WsFrameReader::parse(const char* data, size_t n) {
  const auto* base = reinterpret_cast<const unsigned char*>(data);
  size_t pos = 0;
  while (!halted_) {
    const unsigned char* p = base + pos;
    const size_t avail = n - pos;
    if (avail < 2) break;
    const bool fin = p[0] & 0x80;
    const uint8_t opcode = p[0] & 0x0F;
    uint64_t len = p[1] & 0x7F;
    size_t header = 2;
    if ((p[0] & 0x70) != 0) return kError;  // RSV bits without an extension
    if ((p[1] & 0x80) != 0) return kError;  // servers must not mask
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    const bool control = (opcode & 0x8) != 0;
    if (control && (!fin || len > 125)) return kError;
    if (!control && len + fragments_.size() > max_) return kError;
    if (avail - header < len) break;
    if (!deliver(static_cast<WsOpcode>(opcode), fin,
                 reinterpret_cast<const char*>(p + header),
                 static_cast<size_t>(len))) {
      return kError;
    }
    pos += header + static_cast<size_t>(len);
  }
  return pos;
}

bool WsFrameReader::deliver(WsOpcode opcode, bool fin, const char* payload,
                            size_t len) {
  switch (opcode) {
    case kWsPing:
    case kWsPong:
    case kWsClose:
      // Control frames may arrive between the fragments of a message.
      listener_->onWsMessage(opcode, payload, len);
      return true;
    case kWsText:
    case kWsBinary:
      if (in_fragments_) return false;  // a new message inside another
      if (fin) {
        listener_->onWsMessage(opcode, payload, len);
      } else {
        in_fragments_ = true;
        fragment_opcode_ = opcode;
        fragments_.assign(payload, len);
      }
      return true;
    case kWsContinuation:
      if (!in_fragments_) return false;
      fragments_.append(payload, len);
      if (fin) {
        in_fragments_ = false;
        std::string whole;
        whole.swap(fragments_);
        listener_->onWsMessage(fragment_opcode_, whole.data(), whole.size());
      }
      return true;
    default:
      return false;  // reserved opcodes
  }
}

}  // namespace bench
