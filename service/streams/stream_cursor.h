// Stream-Cursor (docs/durable-streams.md, "Caching, cursors and headers"):
// the number of 20-second intervals since 2024-10-09T00:00:00Z, which a
// CDN uses to tell one long-poll round from the next. A client that sends
// back a cursor at or past the current interval gets one further on (by a
// random 1 to 180 intervals), so that collapsed requests never loop on a
// cached answer.
//
// Thread-safe: a pure function (the jitter comes in as an argument).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rtdemo {

constexpr int64_t kCursorEpochMs = 1728432000000;  // 2024-10-09T00:00:00Z
constexpr int64_t kCursorIntervalMs = 20000;

// The cursor to answer at `nowMs`, given the client's `cursor` query value
// ("" when absent; a value that is not a decimal number is ignored).
// `jitter` in [1, 180] is added when the client is already at or past now.
std::string nextStreamCursor(int64_t nowMs, std::string_view clientCursor,
                             int64_t jitter);

}  // namespace rtdemo
