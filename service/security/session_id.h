// Session ids: one per client connection, sent back in the X-Session-Id
// response header and written in log lines, presence lists and metrics, so
// one connection can be followed through all of them.
//
// A session id names a connection; it is not a credential and grants
// nothing (presence lists show them to anyone allowed to read a channel).
// Ids are a random per-process prefix and a counter: unique within a
// process, and unlikely to repeat across restarts.
//
// Thread safety: newSessionId() may be called from any thread.
#pragma once

#include <string>

namespace rtdemo {

constexpr const char* kSessionHeader = "X-Session-Id";

// A fresh id, such as "5f3a9c1e-2b".
std::string newSessionId();

}  // namespace rtdemo
