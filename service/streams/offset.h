// Durable Streams offsets as rtdemo ids (docs/durable-streams.md, "Offsets
// are rtdemo ids").
//
// An offset is the position after a message, which is that message's id,
// rendered as "<epoch>_<major>_<minor>" with major and minor as 16 lowercase
// hex digits each, so that the offsets of one stream sort lexicographically
// in stream order. The protocol's sentinels "-1" (the start) and "now" (the
// tail) are recognised, and so is the reference server's literal start,
// "0000000000000000_0000000000000000", which clients hard-code.
//
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "storage/message_id.h"

namespace rtdemo {

constexpr size_t kMaxOffsetLength = 50;  // 16 epoch + 1 + 16 + 1 + 16

// The offset of the position after the message `id`.
std::string renderOffset(const MessageId& id);

struct ParsedOffset {
  enum Kind {
    kStart,      // "-1", absent, or the reference's all-zero start
    kNow,        // "now": the tail
    kId,         // a rendered rtdemo id: `id`
    kMalformed,  // anything else: 400, with `reason`
  } kind = kMalformed;
  MessageId id;
  std::string reason;
};

// Parses a client's offset. Never throws; anything that renderOffset() could
// not have produced, and no sentinel, is kMalformed.
ParsedOffset parseOffset(std::string_view text);

}  // namespace rtdemo
