// libFuzzer target: JSON-mode append bodies of Durable Streams
// (service/streams/json_messages.h), as every writer of a JSON stream sends
// one. Besides crashes, sanitizer reports and stack exhaustion (nesting is
// bounded) it checks the contract:
//   - a refused body yields no messages and a reason; an accepted one is
//     valid UTF-8 and yields messages unless it is "[]" (and "[]" only when
//     allowed);
//   - every message is a substring of the body with no surrounding
//     whitespace, and is itself one valid JSON value;
//   - joining the messages into one array and splitting that again gives the
//     same messages (what a reader gets back is what was appended).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "service/protocol/validation.h"
#include "service/streams/json_messages.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace rtdemo;
  const std::string_view body(reinterpret_cast<const char*>(bytes), size);
  for (bool allowEmpty : {false, true}) {
    JsonMessages m = splitJsonBody(body, allowEmpty);
    if (!m.error.empty()) {
      check(m.messages.empty());
      continue;
    }
    check(isValidUtf8(body));
    check(allowEmpty || !m.messages.empty());
    std::vector<std::string_view> views;
    for (const std::string& msg : m.messages) {
      check(!msg.empty() && !isSpace(msg.front()) && !isSpace(msg.back()));
      check(body.find(msg) != std::string_view::npos);
      // One value: wrapped in an array, it splits back to itself.
      JsonMessages one = splitJsonBody("[" + msg + "]", false);
      check(one.error.empty() && one.messages.size() == 1 && one.messages[0] == msg);
      views.push_back(msg);
    }
    if (!m.messages.empty()) {
      JsonMessages again = splitJsonBody(joinJsonMessages(views), false);
      check(again.error.empty() && again.messages == m.messages);
    }
  }
  return 0;
}
