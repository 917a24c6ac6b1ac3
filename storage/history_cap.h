// The global cap on history: what every backend keeps across all channels,
// and what it gives up first when a publish would exceed it.
//
// Per-channel retention (history.size, history.max-age) bounds one channel;
// nothing bounded the sum, so one client publishing to a million channel
// names could make rtdemo keep a million channels' history for a day. Two
// limits bound it, the same way on memory, SQLite and Redis:
//   - history.max-bytes: the cost of every retained message (messageCost():
//     its data and event plus a fixed overhead, so that a flood of empty
//     messages counts too);
//   - history.max-channels: channels that history knows, with or without
//     retained messages (each costs bookkeeping of its own).
//
// The policy, as a push server's users expect it: publishing never fails
// because of the cap, and live delivery is never affected; history is the
// catch-up buffer, and under pressure the history nobody is using goes
// first. When a publish takes history over either limit, the backend evicts
// whole channels, the one published to least recently first, and never a
// channel that this publish (or its batch) wrote to. If only channels just
// written to are left and the bytes are still over, their own oldest messages
// go, down to each one's newest message (which is always kept, even when it
// alone is over the cap).
//
// Eviction is never silent: it only ever removes a prefix of a channel (all
// of it, or its oldest messages), exactly like per-channel trimming, so the
// existing reset machinery covers it: a reader whose cursor falls into what
// was evicted gets a `reset` naming the oldest id left. An evicted channel is
// forgotten, but its ids are not reused: every backend keeps one "floor",
// the highest id any evicted channel had issued, and a channel created after
// that starts above it (its first sequence is floor + 1; on Redis its stream
// records the floor as its max-deleted-entry-id). So a cursor from before the
// eviction is always seen as "trimmed" (a reset), and a cursor equal to the
// floor (what lastId() answers for a channel history does not know) resumes
// without one. Forgetting costs precision, never a message: once the floor
// has risen past a cursor, history cannot tell whether its reader had seen
// all of the evicted channel, or whether a channel is new or came back, so
// such a cursor (and "<epoch>-0" on a channel created after an eviction)
// gets a reset that may not have been needed, with everything retained.
//
// Thread-safe: constants and a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/message.h"

namespace rtdemo {

// messageCost() and kMessageOverheadBytes are in storage/message.h: the
// batch limits (rtdemo.send.batch.max-bytes) count with them too, in
// service/protocol, which sees only the model.

// Evictions one publish (or one SQLite batch, or one maintenance step) does
// at most, so that a cap lowered across a restart is reached in small steps
// instead of one long stall; the next publishes continue.
constexpr size_t kMaxEvictionsPerStep = 16;

}  // namespace rtdemo
