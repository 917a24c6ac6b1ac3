// Reading a Durable Stream's history, forks included (docs/durable-streams.md,
// "Forks"): a fork's history is its source's up to the fork point (the
// source's own source's before that, up the chain), then its own messages.
// Nothing is copied: this stitches reads of each channel of the chain
// through the Broker, so it is the same for every backend that has streams.
//
// What a fork inherits never changes (its source's history up to the fork
// point is below that source's tail, and a source with forks is only ever
// soft-deleted), so reading the chain level by level needs no snapshot
// across channels.
//
// Thread-safe: a pure function of the Broker, which is safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "storage/broker.h"
#include "storage/message_id.h"
#include "storage/stream.h"

namespace rtdemo {

// Fork chains are acyclic by construction (a source exists before its
// fork); this bounds a read of a damaged store all the same.
constexpr int kMaxForkDepth = 64;

struct StreamHistory {
  std::vector<MessagePtr> messages;  // after the cursor, in stream order
  // The position after what was read: the last message's id, or, when the
  // read reached the end of a fork's inherited part with nothing after it,
  // the start of the fork's own messages (ids between are no messages).
  MessageId next;
  // The history the cursor names is gone (trimmed, another epoch, a source
  // that is no more): a 410, with the reason.
  bool gone = false;
  std::string reason;
};

// Up to `limit` messages of `channel`'s stream (described by `info`, as
// streamInfo() answered it) after `cursor`.
// REQUIRES: cursor is of info's epoch and not before info.startId.
Status readStreamHistory(Broker& broker, const std::string& channel,
                         const StreamInfo& info, MessageId cursor, size_t limit,
                         StreamHistory* out);

}  // namespace rtdemo
