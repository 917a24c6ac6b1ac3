// Input rules shared by every transport: channel and event names, UTF-8.
//
// Channel and event names are restricted to a small ASCII set so they can go
// into SSE fields, JSON, Redis keys and log lines without escaping, and so no
// client can smuggle a CR or LF into an event stream through them.
#pragma once

#include <string>
#include <string_view>

namespace rtdemo {

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxCursorLength = 128;

// 1-64 characters of [A-Za-z0-9._:-]. Returns "" when valid, else the reason.
std::string checkChannelName(std::string_view name);

// Same character rules; "heartbeat" and "reset" are reserved for the server.
std::string checkEventName(std::string_view name);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool isValidUtf8(std::string_view text);

}  // namespace rtdemo
