// Stream-Cursor (see stream_cursor.h).
#include "service/streams/stream_cursor.h"

#include <charconv>

namespace rtdemo {

std::string nextStreamCursor(int64_t nowMs, std::string_view clientCursor,
                             int64_t jitter) {
  int64_t current = (nowMs - kCursorEpochMs) / kCursorIntervalMs;
  if (current < 0) current = 0;
  int64_t client = -1;
  const char* end = clientCursor.data() + clientCursor.size();
  if (!clientCursor.empty()) {
    auto [p, ec] = std::from_chars(clientCursor.data(), end, client);
    if (ec != std::errc() || p != end || client < 0) client = -1;
  }
  // A client at or ahead of now would get the same cursor back, and a CDN
  // would answer it from cache forever: move past it.
  if (client >= current && client < (int64_t(1) << 53)) current = client + jitter;
  return std::to_string(current);
}

}  // namespace rtdemo
