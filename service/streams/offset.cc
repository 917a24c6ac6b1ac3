// Offsets to and from rtdemo ids (see offset.h).
#include "service/streams/offset.h"

namespace rtdemo {
namespace {

constexpr size_t kHexDigits = 16;
constexpr std::string_view kReferenceStart = "0000000000000000_0000000000000000";

void appendHex(uint64_t v, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out->push_back(kHex[(v >> shift) & 15]);
}

// Exactly 16 lowercase hex digits.
bool parseHex(std::string_view text, uint64_t* out) {
  if (text.size() != kHexDigits) return false;
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | uint64_t(d);
  }
  *out = v;
  return true;
}

ParsedOffset malformed(std::string reason) {
  ParsedOffset p;
  p.kind = ParsedOffset::kMalformed;
  p.reason = std::move(reason);
  return p;
}

}  // namespace

std::string renderOffset(const MessageId& id) {
  std::string out;
  out.reserve(id.epoch.size() + 2 + 2 * kHexDigits);
  out += id.epoch;
  out += '_';
  appendHex(id.major, &out);
  out += '_';
  appendHex(id.minor, &out);
  return out;
}

ParsedOffset parseOffset(std::string_view text) {
  ParsedOffset p;
  if (text == "-1" || text == kReferenceStart) {
    p.kind = ParsedOffset::kStart;
    return p;
  }
  if (text == "now") {
    p.kind = ParsedOffset::kNow;
    return p;
  }
  if (text.empty()) return malformed("empty offset");
  if (text.size() > kMaxOffsetLength) return malformed("offset too long");
  size_t first = text.find('_');
  if (first == std::string_view::npos) return malformed("malformed offset");
  std::string_view epoch = text.substr(0, first);
  std::string_view rest = text.substr(first + 1);
  size_t second = rest.find('_');
  if (second == std::string_view::npos) return malformed("malformed offset");
  uint64_t major = 0, minor = 0;
  if (!isValidEpoch(epoch) || !parseHex(rest.substr(0, second), &major) ||
      !parseHex(rest.substr(second + 1), &minor)) {
    return malformed("malformed offset");
  }
  p.kind = ParsedOffset::kId;
  p.id = MessageId{std::string(epoch), major, minor};
  return p;
}

}  // namespace rtdemo
