// JSON-mode bodies (see json_messages.h).
#include "service/streams/json_messages.h"

#include <cctype>

#include "service/protocol/validation.h"

namespace rtdemo {
namespace {

// A recursive-descent validator over the body; positions are byte offsets.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}

  void skipSpace() {
    while (pos_ < t_.size() &&
           (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r'))
      ++pos_;
  }
  bool atEnd() const { return pos_ == t_.size(); }
  bool peek(char c) const { return pos_ < t_.size() && t_[pos_] == c; }
  size_t pos() const { return pos_; }
  void advance() { ++pos_; }

  // One value from pos_ (no leading space); false with error_ set.
  bool value(int depth) {
    if (depth > kMaxJsonDepth) return fail("JSON nested deeper than 256 levels");
    if (atEnd()) return fail("JSON value expected");
    switch (t_[pos_]) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  const std::string& error() const { return error_; }

 private:
  bool fail(const char* why) {
    if (error_.empty()) error_ = std::string(why) + " at byte " + std::to_string(pos_);
    return false;
  }

  bool literal(std::string_view word) {
    if (t_.substr(pos_, word.size()) != word) return fail("invalid JSON literal");
    pos_ += word.size();
    return true;
  }

  bool digitsRun() {
    size_t start = pos_;
    while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool number() {
    if (peek('-')) ++pos_;
    if (peek('0')) {
      ++pos_;
    } else if (!digitsRun()) {
      return fail("invalid JSON value");
    }
    if (peek('.')) {
      ++pos_;
      if (!digitsRun()) return fail("invalid JSON number");
    }
    if (peek('e') || peek('E')) {
      ++pos_;
      if (peek('+') || peek('-')) ++pos_;
      if (!digitsRun()) return fail("invalid JSON number");
    }
    return true;
  }

  bool hex4() {
    for (int i = 0; i < 4; ++i, ++pos_) {
      if (pos_ >= t_.size() || !std::isxdigit(static_cast<unsigned char>(t_[pos_])))
        return fail("invalid \\u escape in JSON string");
    }
    return true;
  }

  bool string() {
    ++pos_;  // the opening quote
    while (pos_ < t_.size()) {
      unsigned char c = static_cast<unsigned char>(t_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail("control character in JSON string");
      if (c == '\\') {
        ++pos_;
        if (atEnd()) break;
        char e = t_[pos_];
        if (e == 'u') {
          ++pos_;
          if (!hex4()) return false;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos)
          return fail("invalid escape in JSON string");
      }
      ++pos_;
    }
    return fail("unterminated JSON string");
  }

  bool array(int depth) {
    ++pos_;
    skipSpace();
    if (peek(']')) {
      ++pos_;
      return true;
    }
    for (;;) {
      if (!value(depth + 1)) return false;
      skipSpace();
      if (peek(']')) {
        ++pos_;
        return true;
      }
      if (!peek(',')) return fail("',' or ']' expected in JSON array");
      ++pos_;
      skipSpace();
    }
  }

  bool object(int depth) {
    ++pos_;
    skipSpace();
    if (peek('}')) {
      ++pos_;
      return true;
    }
    for (;;) {
      if (!peek('"')) return fail("member name expected in JSON object");
      if (!string()) return false;
      skipSpace();
      if (!peek(':')) return fail("':' expected in JSON object");
      ++pos_;
      skipSpace();
      if (!value(depth + 1)) return false;
      skipSpace();
      if (peek('}')) {
        ++pos_;
        return true;
      }
      if (!peek(',')) return fail("',' or '}' expected in JSON object");
      ++pos_;
      skipSpace();
    }
  }

  std::string_view t_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

JsonMessages splitJsonBody(std::string_view body, bool allowEmptyArray) {
  JsonMessages out;
  if (!isValidUtf8(body)) {
    out.error = "JSON body is not valid UTF-8";
    return out;
  }
  Scanner s(body);
  s.skipSpace();
  if (s.atEnd()) {
    out.error = "empty JSON body";
    return out;
  }
  if (!s.peek('[')) {
    size_t start = s.pos();
    if (!s.value(1)) {
      out.error = s.error();
      return out;
    }
    size_t end = s.pos();
    s.skipSpace();
    if (!s.atEnd()) {
      out.error = "one JSON value expected, more follows at byte " + std::to_string(s.pos());
      return out;
    }
    out.messages.emplace_back(body.substr(start, end - start));
    return out;
  }
  // A top-level array: each element is a message (one level flattened).
  s.advance();
  s.skipSpace();
  bool closed = false;
  if (s.peek(']')) {
    s.advance();
    closed = true;
  }
  while (!closed) {
    size_t start = s.pos();
    if (!s.value(2)) {
      out.messages.clear();
      out.error = s.error();
      return out;
    }
    out.messages.emplace_back(body.substr(start, s.pos() - start));
    s.skipSpace();
    if (s.peek(']')) {
      s.advance();
      closed = true;
    } else if (s.peek(',')) {
      s.advance();
      s.skipSpace();
    } else {
      out.messages.clear();
      out.error = "',' or ']' expected in JSON array at byte " + std::to_string(s.pos());
      return out;
    }
  }
  s.skipSpace();
  if (!s.atEnd()) {
    out.messages.clear();
    out.error = "one JSON value expected, more follows at byte " + std::to_string(s.pos());
    return out;
  }
  if (out.messages.empty() && !allowEmptyArray) out.error = "empty JSON array: nothing to append";
  return out;
}

std::string joinJsonMessages(const std::vector<std::string_view>& messages) {
  size_t size = 2;
  for (std::string_view m : messages) size += m.size() + 1;
  std::string out;
  out.reserve(size);
  out += '[';
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ',';
    out += messages[i];
  }
  out += ']';
  return out;
}

}  // namespace rtdemo
