// Implementation of the test EventSource parser (see sse_parser.h).
#include "tests/support/sse_parser.h"

namespace rtdemo {

void SseParser::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (c == '\n' && lastWasCr_) {
      lastWasCr_ = false;  // the LF of a CRLF already ended the line
      continue;
    }
    lastWasCr_ = (c == '\r');
    if (c == '\r' || c == '\n') {
      line(pending_);
      pending_.clear();
    } else {
      pending_.push_back(c);
    }
  }
}

void SseParser::line(const std::string& l) {
  if (l.empty()) {
    if (hasData_) {
      std::string d = data_;
      if (!d.empty() && d.back() == '\n') d.pop_back();
      ready_.push_back({lastId_, type_.empty() ? "message" : type_, d});
    }
    data_.clear();
    type_.clear();
    hasData_ = false;
    return;
  }
  if (l[0] == ':') return;
  size_t colon = l.find(':');
  std::string field = l.substr(0, colon);
  std::string value = colon == std::string::npos ? "" : l.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.erase(0, 1);
  if (field == "data") {
    data_ += value + "\n";
    hasData_ = true;
  } else if (field == "event") {
    type_ = value;
  } else if (field == "id") {
    if (value.find('\0') == std::string::npos) lastId_ = value;
  } else if (field == "retry") {
    bool digits = !value.empty();
    for (char c : value) digits = digits && c >= '0' && c <= '9';
    if (digits) retryMs_ = std::stoi(value);
  }
}

std::vector<SseEvent> SseParser::take() {
  std::vector<SseEvent> out;
  out.swap(ready_);
  return out;
}

std::vector<SseEvent> parseSse(std::string_view stream) {
  SseParser p;
  p.feed(stream);
  return p.take();
}

}  // namespace rtdemo
