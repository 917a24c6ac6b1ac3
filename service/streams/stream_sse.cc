// The SSE rendering of a Durable Streams read (see stream_sse.h).
#include "service/streams/stream_sse.h"

#include <sstream>

#include "Poco/Base64Encoder.h"
#include "service/protocol/json_writer.h"

namespace rtdemo {

std::string encodeStreamDataEvent(std::string_view payload, bool base64) {
  std::string text;
  if (base64) {
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);  // standard alphabet, padded
    encoder.rdbuf()->setLineLength(0);  // one line
    encoder.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    encoder.close();
    text = out.str();
    payload = text;
  }
  std::string event = "event: data\n";  // see stream_sse.h
  size_t i = 0;
  // Every line of the payload is one data: line; an empty payload is one
  // empty data: line, so that the event is still dispatched.
  while (true) {
    size_t end = payload.find_first_of("\r\n", i);
    // "data:" and the line; a reader strips one space after the colon, so
    // a line that starts with a space gets one more to keep it.
    event += "data:";
    std::string_view line = payload.substr(i, end == std::string_view::npos ? end : end - i);
    if (!line.empty() && line[0] == ' ') event += ' ';
    event.append(line.data(), line.size());
    event += '\n';
    if (end == std::string_view::npos) break;
    i = end + 1;
    if (payload[end] == '\r' && i < payload.size() && payload[i] == '\n') i++;
  }
  event += '\n';
  return event;
}

std::string encodeStreamControlEvent(const StreamControl& control) {
  JsonWriter json;
  json.beginObject();
  json.key("streamNextOffset");
  json.string(control.nextOffset);
  if (!control.closed) {
    json.key("streamCursor");
    json.string(control.cursor);
  }
  if (control.upToDate) {
    json.key("upToDate");
    json.boolean(true);
  }
  if (control.closed) {
    json.key("streamClosed");
    json.boolean(true);
  }
  json.endObject();
  return "event: control\ndata:" + json.str() + "\n\n";
}

}  // namespace rtdemo
