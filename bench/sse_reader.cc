// Server-Sent Events parser (see sse_reader.h).
#include "sse_reader.h"

#include <cstring>

namespace bench {

void SseReader::feed(const char* data, size_t len) {
  const char* p = data;
  const char* end = data + len;
  while (p < end) {
    if (last_was_cr_) {
      // The LF of a CRLF split across reads (or right after CR) is not a
      // second, empty line.
      last_was_cr_ = false;
      if (*p == '\n') {
        ++p;
        continue;
      }
    }
    const char* q = p;
    while (q < end && *q != '\n' && *q != '\r') ++q;
    if (q == end) {
      partial_.append(p, end - p);
      return;
    }
    if (partial_.empty()) {
      line(p, q - p);
    } else {
      partial_.append(p, q - p);
      line(partial_.data(), partial_.size());
      partial_.clear();
    }
    if (*q == '\r') last_was_cr_ = true;
    p = q + 1;
  }
}

void SseReader::reset() {
  partial_.clear();
  last_was_cr_ = false;
  have_data_ = false;
  event_.clear();
  id_.clear();
  data_.clear();
}

void SseReader::line(const char* p, size_t n) {
  if (n == 0) {
    if (have_data_) listener_->onSseEvent(event_, id_, data_);
    have_data_ = false;
    event_.clear();
    data_.clear();
    return;
  }
  if (*p == ':') return;  // comment
  const char* colon = static_cast<const char*>(std::memchr(p, ':', n));
  size_t name_len = colon ? static_cast<size_t>(colon - p) : n;
  const char* value = colon ? colon + 1 : p + n;
  if (value < p + n && *value == ' ') ++value;
  size_t value_len = static_cast<size_t>(p + n - value);
  if (name_len == 4 && std::memcmp(p, "data", 4) == 0) {
    if (have_data_) data_.push_back('\n');
    data_.append(value, value_len);
    have_data_ = true;
  } else if (name_len == 5 && std::memcmp(p, "event", 5) == 0) {
    event_.assign(value, value_len);
  } else if (name_len == 2 && std::memcmp(p, "id", 2) == 0) {
    id_.assign(value, value_len);
  } else if (name_len == 5 && std::memcmp(p, "retry", 5) == 0 &&
             value_len > 0 && value_len < 10) {
    long ms = 0;
    for (size_t i = 0; i < value_len; ++i) {
      if (value[i] < '0' || value[i] > '9') return;  // ignored, as WHATWG says
      ms = ms * 10 + (value[i] - '0');
    }
    listener_->onSseRetry(ms);
  }
}

}  // namespace bench
