// readStringField: the one reader of an optional string member of a JSON
// object a client sent, for the POST /send body (send_request.cc) and the
// WebSocket commands (ws_protocol.cc).
//
// Absent and null both mean "not given": *out keeps its value. A member of
// another type is an error, "field '<key>' must be a string", rather than a
// conversion, so 42 or {} never becomes a channel or data by accident.
//
// Thread safety: a pure function.
#pragma once

#include <string>

#include "Poco/JSON/Object.h"

namespace rtdemo {

// False with *error set when `key` holds something other than a string.
// `present` (optional) says whether a string was there.
bool readStringField(const Poco::JSON::Object& obj, const std::string& key,
                     std::string* out, std::string* error,
                     bool* present = nullptr);

}  // namespace rtdemo
