// libFuzzer target: the SSE encoder (service/protocol/sse_encoder.h).
//
// Input layout: three fields separated by NUL bytes, event \0 id \0 data;
// missing fields are empty. Besides crashes and sanitizer reports, it checks
// the property that makes the encoder safe: whatever the data holds (CR, LF,
// CRLF, NUL, "id:" or "event:" text), a browser parsing the encoded bytes
// sees exactly one event, with our id and event type, and the data with its
// line breaks normalised to LF. A failure here is an injection bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "service/protocol/sse_encoder.h"
#include "service/protocol/validation.h"
#include "tests/support/sse_parser.h"

namespace {

std::string field(std::string_view* in) {
  size_t nul = in->find('\0');
  std::string out(in->substr(0, nul));
  in->remove_prefix(nul == std::string_view::npos ? in->size() : nul + 1);
  return out;
}

std::string normaliseNewlines(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(bytes), size);
  rtdemo::Message m;
  m.event = field(&in);
  m.idText = field(&in);
  m.data = std::string(in);
  m.channel = "fuzz";

  std::string encoded = rtdemo::sse::encodeMessage(m);
  rtdemo::sse::encodeHeartbeat(static_cast<int64_t>(size));
  rtdemo::sse::encodeReset(m.idText, m.event, m.data);

  // The server only ever encodes what validation let through: names from
  // the channel alphabet, ids it made itself, data of valid UTF-8. Within
  // that contract the round trip must be exact.
  bool eventOk = m.event.empty() || rtdemo::checkEventName(m.event).empty();
  bool idOk = !m.idText.empty() && rtdemo::checkChannelName(m.idText).empty();
  if (!eventOk || !idOk || !rtdemo::isValidUtf8(m.data) ||
      m.data.find('\0') != std::string::npos)
    return 0;
  std::vector<rtdemo::SseEvent> events = rtdemo::parseSse(encoded);
  if (events.size() != 1) std::abort();
  if (events[0].id != m.idText) std::abort();
  if (events[0].type != (m.event.empty() ? "message" : m.event)) std::abort();
  if (events[0].data != normaliseNewlines(m.data)) std::abort();
  return 0;
}
