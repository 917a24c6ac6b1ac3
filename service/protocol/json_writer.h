// JsonWriter: a small append-only JSON builder for responses on hot paths.
//
// Poll answers and /send acknowledgements are built thousands of times per
// second; building them through Poco::JSON::Object costs a map and a
// Dynamic::Var per field. This writes straight into one string. Strings must
// be valid UTF-8 (the service validates input before it is stored); they are
// copied as UTF-8 with only the characters JSON requires escaped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rtdemo {

class JsonWriter {
 public:
  void beginObject();
  void endObject();
  void beginArray();
  void endArray();
  void key(std::string_view k);
  void string(std::string_view s);
  void number(int64_t n);
  void boolean(bool b);
  void null();
  // A string, or null for an empty one: an id that may not exist (a
  // reset's oldest retained message).
  void stringOrNull(std::string_view s);

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

  static void appendQuoted(std::string* out, std::string_view s);

 private:
  void separate();

  std::string out_;
  // One entry per open container: true once it holds a value.
  std::vector<bool> hasValue_;
  bool afterKey_ = false;
};

}  // namespace rtdemo
