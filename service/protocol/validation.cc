// Implementation of the shared input rules (see validation.h).
#include "service/protocol/validation.h"

#include <algorithm>

namespace rtdemo {
namespace {

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
         c == '-';
}

std::string checkName(std::string_view what, std::string_view name) {
  if (name.empty()) return std::string(what) + " is empty";
  if (name.size() > kMaxNameLength)
    return std::string(what) + " is longer than 64 characters";
  for (char c : name) {
    if (!isNameChar(c))
      return std::string(what) +
             " may only contain letters, digits and . _ : -";
  }
  return "";
}

}  // namespace

std::string checkCursor(std::string_view what, std::string_view cursor) {
  if (cursor.size() <= kMaxCursorLength) return "";
  return std::string(what) + " is longer than " +
         std::to_string(kMaxCursorLength) + " characters";
}

std::string checkChannelName(std::string_view name) {
  return checkName("channel", name);
}

std::string checkEventName(std::string_view name) {
  std::string reason = checkName("event", name);
  if (!reason.empty()) return reason;
  if (name == "heartbeat" || name == "reset")
    return "event '" + std::string(name) + "' is reserved for the server";
  return "";
}

namespace {

// The length of the character that starts at s[i], from the table of
// well-formed sequences in Unicode 15 (Table 3-7): 0 when no valid character
// starts there, -1 when one does but `n` cuts it off. The second byte's range
// is what excludes overlong forms, surrogates and code points past U+10FFFF.
// *prefix is set to the bytes at i that could begin a character (at least 1):
// what one U+FFFD replaces (Unicode's "maximal subpart" practice).
int charLengthAt(const unsigned char* s, size_t n, size_t i, size_t* prefix) {
  *prefix = 1;
  const unsigned char c = s[i];
  if (c < 0x80) return 1;
  int len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c == 0xE0) {
    len = 3;
    lo = 0xA0;  // below: overlong
  } else if (c == 0xED) {
    len = 3;
    hi = 0x9F;  // above: U+D800-DFFF, surrogates
  } else if (c >= 0xE1 && c <= 0xEF) {
    len = 3;
  } else if (c == 0xF0) {
    len = 4;
    lo = 0x90;  // below: overlong
  } else if (c >= 0xF1 && c <= 0xF3) {
    len = 4;
  } else if (c == 0xF4) {
    len = 4;
    hi = 0x8F;  // above: past U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1 (always overlong), F5-FF
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= n) return -1;
    const unsigned char b = s[i + k];
    if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return 0;
    *prefix = static_cast<size_t>(k) + 1;
  }
  return len;
}

}  // namespace

Utf8Scan scanUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  size_t prefix;
  while (i < n) {
    int len = charLengthAt(s, n, i, &prefix);
    if (len <= 0) return Utf8Scan{len < 0, i};
    i += static_cast<size_t>(len);
  }
  return Utf8Scan{true, n};
}

bool isValidUtf8(std::string_view text) {
  Utf8Scan scan = scanUtf8(text);
  return scan.valid && scan.complete == text.size();
}

std::string utf8Excerpt(std::string_view text, size_t maxBytes) {
  static const char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  std::string out;
  out.reserve(std::min(n, maxBytes));
  size_t i = 0;
  size_t prefix;
  while (i < n) {
    int len = charLengthAt(s, n, i, &prefix);
    if (len > 0) {
      if (static_cast<size_t>(len) > maxBytes - out.size()) break;
      out.append(text.data() + i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else {
      if (3 > maxBytes - out.size()) break;
      out.append(kReplacement, 3);
      i += prefix;
    }
  }
  return out;
}

}  // namespace rtdemo
