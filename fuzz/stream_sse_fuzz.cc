// libFuzzer target: the SSE data events of live=sse (service/streams/
// stream_sse.h), which carry bytes any writer appended. Besides crashes and
// sanitizer reports it checks the contract that no append can end an event
// or forge one:
//   - the event has no CR, and its only blank line is the final one;
//   - every line is "event: data" (the first) or starts with "data:";
//   - a reader that joins the data: lines with LF (stripping one space
//     after the colon) gets the payload back with CRLF and CR turned into
//     LF; in base64 mode, the standard base64 of the payload, on one line.
//
// Input layout: the first byte's low bit picks base64; the rest is the
// payload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "Poco/Base64Decoder.h"
#include "service/streams/stream_sse.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool base64 = data[0] & 1;
  std::string payload(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string event = rtdemo::encodeStreamDataEvent(payload, base64);
  check(event.find('\r') == std::string::npos);
  check(event.size() >= 2 && event.compare(event.size() - 2, 2, "\n\n") == 0);
  check(event.find("\n\n") == event.size() - 2);
  const std::string head = "event: data\n";
  check(event.compare(0, head.size(), head) == 0);
  // The reader's view.
  std::string joined;
  size_t i = head.size(), lines = 0;
  while (i < event.size() - 1) {
    size_t end = event.find('\n', i);
    std::string line = event.substr(i, end - i);
    check(line.compare(0, 5, "data:") == 0);
    std::string value = line.substr(5);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (lines++) joined += '\n';
    joined += value;
    i = end + 1;
  }
  if (base64) {
    check(lines == 1);
    std::istringstream in(joined);
    Poco::Base64Decoder decoder(in);
    std::string decoded((std::istreambuf_iterator<char>(decoder)), std::istreambuf_iterator<char>());
    check(decoded == payload);
  } else {
    std::string expected;
    for (size_t k = 0; k < payload.size(); k++) {
      if (payload[k] == '\r') {
        expected += '\n';
        if (k + 1 < payload.size() && payload[k + 1] == '\n') k++;
      } else {
        expected += payload[k];
      }
    }
    check(joined == expected);
  }
  return 0;
}
