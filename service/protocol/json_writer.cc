// Implementation of JsonWriter (see json_writer.h).
#include "service/protocol/json_writer.h"

namespace rtdemo {

void JsonWriter::appendQuoted(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

void JsonWriter::separate() {
  if (afterKey_) {
    afterKey_ = false;
    return;
  }
  if (!hasValue_.empty()) {
    if (hasValue_.back()) out_.push_back(',');
    hasValue_.back() = true;
  }
}

void JsonWriter::beginObject() {
  separate();
  out_.push_back('{');
  hasValue_.push_back(false);
}

void JsonWriter::endObject() {
  out_.push_back('}');
  hasValue_.pop_back();
}

void JsonWriter::beginArray() {
  separate();
  out_.push_back('[');
  hasValue_.push_back(false);
}

void JsonWriter::endArray() {
  out_.push_back(']');
  hasValue_.pop_back();
}

void JsonWriter::key(std::string_view k) {
  separate();
  appendQuoted(&out_, k);
  out_.push_back(':');
  afterKey_ = true;
}

void JsonWriter::string(std::string_view s) {
  separate();
  appendQuoted(&out_, s);
}

void JsonWriter::number(int64_t n) {
  separate();
  out_.append(std::to_string(n));
}

void JsonWriter::boolean(bool b) {
  separate();
  out_.append(b ? "true" : "false");
}

void JsonWriter::null() {
  separate();
  out_.append("null");
}

void JsonWriter::stringOrNull(std::string_view s) {
  if (s.empty())
    null();
  else
    string(s);
}

}  // namespace rtdemo
