// Implementation of the SSE encoder (see sse_encoder.h).
#include "service/protocol/sse_encoder.h"

#include "service/protocol/json_writer.h"

namespace rtdemo {
namespace sse {
namespace {

// A single-line field whose value must not contain a line break or NUL; such
// a value never reaches here through validated input, but if one did, the
// field is dropped rather than emitted broken.
void appendLineField(std::string* out, const char* field,
                     const std::string& value) {
  if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
    return;
  out->append(field);
  out->append(": ");
  out->append(value);
  out->push_back('\n');
}

}  // namespace

void appendField(std::string* out, const char* field,
                 const std::string& value) {
  size_t start = 0;
  const size_t n = value.size();
  for (;;) {
    size_t end = value.find_first_of("\r\n", start);
    out->append(field);
    out->append(": ");
    if (end == std::string::npos) {
      out->append(value, start, n - start);
      out->push_back('\n');
      return;
    }
    out->append(value, start, end - start);
    out->push_back('\n');
    // CRLF is one line break, not two.
    start = (value[end] == '\r' && end + 1 < n && value[end + 1] == '\n')
                ? end + 2
                : end + 1;
  }
}

std::string encodeMessage(const Message& message) {
  std::string out;
  out.reserve(message.data.size() + message.idText.size() +
              message.event.size() + 32);
  appendLineField(&out, "id", message.idText);
  if (!message.event.empty()) appendLineField(&out, "event", message.event);
  appendField(&out, "data", message.data);
  out.push_back('\n');
  return out;
}

std::string encodePreamble(int retryMs) {
  return ": rtdemo\nretry: " + std::to_string(retryMs) + "\n\n";
}

std::string encodeHeartbeat(int64_t nowMs) {
  return "event: heartbeat\ndata: " + std::to_string(nowMs) + "\n\n";
}

std::string encodeReset(const std::string& epochStartId,
                        const std::string& oldest, const std::string& reason) {
  JsonWriter json;
  json.beginObject();
  json.key("oldest");
  json.stringOrNull(oldest);
  json.key("reason");
  json.string(reason);
  json.endObject();
  std::string out;
  appendLineField(&out, "id", epochStartId);
  out.append("event: reset\n");
  appendField(&out, "data", json.str());
  out.push_back('\n');
  return out;
}

std::string encodeTokenExpired(const std::string& channel) {
  JsonWriter json;
  json.beginObject();
  json.key("error");
  json.string("token expired");
  json.key("channel");
  json.string(channel);
  json.endObject();
  std::string out = "event: token-expired\n";
  appendField(&out, "data", json.str());
  out.push_back('\n');
  return out;
}

}  // namespace sse
}  // namespace rtdemo
