// Minimal JSON string-field lookup for the load generator's clients: the
// long-poll answers and rtdemo's WebSocket messages are small, flat and
// written by rtdemo itself, so finding `"key":"value"` and undoing JSON's
// escapes is all a client needs. Not a general JSON parser.
#pragma once

#include <cstddef>
#include <string>

namespace bench {

// Position just past `"key":"` (whitespace around the colon allowed) at or
// after `from`, or std::string::npos.
size_t findStringField(const std::string& s, const char* key, size_t from);

// The JSON string value starting at `at` (just past its opening quote), with
// the escapes JSON requires undone (\uXXXX is not decoded: bench payloads
// and rtdemo ids are ASCII). *end is set to the closing quote's position.
std::string jsonString(const std::string& s, size_t at, size_t* end);

}  // namespace bench
