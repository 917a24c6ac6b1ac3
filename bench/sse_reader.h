// Server-Sent Events parser for the body of an event stream. It follows the
// WHATWG rules that matter for measuring: lines end in CR, LF or CRLF, data
// lines are joined with LF, and an event is dispatched only at its closing
// blank line. The bench payload is one line, so the common path does no
// joining and no copies beyond the partial line kept between reads.
#pragma once

#include <cstddef>
#include <string>

namespace bench {

class SseListener {
 public:
  virtual ~SseListener() = default;
  // event is "" for the default "message" type.
  virtual void onSseEvent(const std::string& event, const std::string& id,
                          const std::string& data) = 0;
  // A "retry:" field with a valid value (ASCII digits only): the reconnect
  // delay the server asks for, in milliseconds.
  virtual void onSseRetry(long ms) { (void)ms; }
};

class SseReader {
 public:
  // listener must outlive this reader.
  explicit SseReader(SseListener* listener) : listener_(listener) {}

  void feed(const char* data, size_t len);
  // Forgets a partial line and event: a new connection's stream starts
  // clean (the last event id is the listener's to keep).
  void reset();

 private:
  void line(const char* p, size_t n);

  SseListener* listener_;  // not owned
  std::string partial_;    // an unterminated line from the previous feed
  bool last_was_cr_ = false;
  bool have_data_ = false;
  std::string event_;
  std::string id_;
  std::string data_;
};

}  // namespace bench
