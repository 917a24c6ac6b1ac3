// Input rules shared by every transport: channel and event names, cursor
// lengths, UTF-8.
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

// The one length rule for a cursor a client names (Last-Event-ID, since,
// last_id, a re-poll's since): at most kMaxCursorLength characters, so it
// is bounded before any backend parses it. Returns "" when it fits, else
// "<what> is longer than 128 characters".
std::string checkCursor(std::string_view what, std::string_view cursor);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool isValidUtf8(std::string_view text);

// How much of `text` is UTF-8, for text that arrives in pieces (WebSocket
// fragments). `complete` is the length of the longest prefix of whole, valid
// characters. `valid` is false when the bytes after it can never become a
// valid character (a stray byte, an overlong form, a surrogate, something
// above U+10FFFF), true when they are only the start of one, cut off.
struct Utf8Scan {
  bool valid;
  size_t complete;
};
Utf8Scan scanUtf8(std::string_view text);

// `text` made fit to send back to a client inside JSON or a close frame:
// every byte that is not part of a valid character becomes U+FFFD, and the
// result is cut at a character boundary so it is at most `maxBytes` long.
// Use it wherever an answer quotes what a client sent.
std::string utf8Excerpt(std::string_view text, size_t maxBytes = std::string_view::npos);

}  // namespace rtdemo
