// JSON mode of Durable Streams (docs/durable-streams.md, "Messages and
// bytes"): an append body is one JSON value, and a top-level array is
// flattened one level, each element a message; a read answers its messages
// as one JSON array.
//
// The body is validated here by a strict RFC 8259 parser (UTF-8, no
// trailing commas, no comments, nesting at most kMaxJsonDepth), and each
// message is the exact bytes of its value, whitespace around it trimmed: no
// number or string is re-encoded, so what a reader gets back is what was
// sent.
//
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rtdemo {

constexpr int kMaxJsonDepth = 256;

struct JsonMessages {
  std::vector<std::string> messages;  // in order; empty only for "[]"
  std::string error;                  // "" when the body was valid
};

// Splits an append's body. "[]" is valid only when `allowEmptyArray` (a
// create's initial body); for an append it is an error, as the protocol asks.
JsonMessages splitJsonBody(std::string_view body, bool allowEmptyArray);

// The body of a read: "[" + the messages joined by "," + "]".
std::string joinJsonMessages(const std::vector<std::string_view>& messages);

}  // namespace rtdemo
