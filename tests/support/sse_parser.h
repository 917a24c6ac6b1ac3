// SseParser: an incremental EventSource parser for tests (WHATWG HTML
// 9.2.6), so tests assert on what a browser would see rather than on bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rtdemo {

struct SseEvent {
  std::string id;    // the last event id in effect when it was dispatched
  std::string type;  // "message" when no event field was given
  std::string data;
};

class SseParser {
 public:
  // Feeds stream bytes; complete events become available through take().
  void feed(std::string_view bytes);
  std::vector<SseEvent> take();
  // The retry field, if one was seen.
  int retryMs() const { return retryMs_; }

 private:
  void line(const std::string& l);

  std::string pending_;  // bytes of an unfinished line
  bool lastWasCr_ = false;
  std::string data_, type_, lastId_;
  bool hasData_ = false;
  int retryMs_ = -1;
  std::vector<SseEvent> ready_;
};

// Parses a whole stream at once.
std::vector<SseEvent> parseSse(std::string_view stream);

}  // namespace rtdemo
