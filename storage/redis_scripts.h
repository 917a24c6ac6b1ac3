// The Lua scripts of the Redis backend. Each runs atomically inside Redis,
// which is what lets every instance sharing a Redis agree on ids, epochs,
// retention and the global cap without talking to each other.
//
// Their KEYS are all under the prefix P (redis_stream.h); both touch other
// channels' keys (P ch:<victim>, P cost:<victim>) only to evict them, which
// is why rtdemo needs a standalone Redis, not a cluster.
//
// The cap's bookkeeping (storage/history_cap.h): P channels is a sorted set
// of every channel with a stream, ordered by its last publish (the
// least recently published is the first to evict; scored by a count of
// publishes, not the clock, so that ties cannot reorder it); P cost:<channel> holds the
// messageCost() of each entry of the channel's stream, oldest first, aligned
// to the stream's newest entries (a stream written before the cap existed
// has uncounted entries at its front); P bytes is the sum of all of them;
// P floor is the highest last-generated-id of any evicted stream. A stream
// created while a floor exists starts above it and records it as its
// max-deleted-entry-id, so a cursor from an evicted incarnation gets a reset
// through the ordinary "trimmed" check of the read script.
//
// Thread-safe: constant text.
#pragma once

#include <string>

namespace rtdemo {

// Stores a batch of n >= 1 messages, all or none (a single publish is a
// batch of one): every key is checked before the first write.
// KEYS: 1 P epoch, 2 P channels, 3 P bytes, 4 P floor, then per message
// 5+2i P ch:<channel i>, 6+2i P cost:<channel i>.
// ARGV: max length, max age in ms (0: none), max bytes, max channels, key
// prefix, most evictions per message, then per message 7+3i channel,
// 8+3i event, 9+3i data.
// Returns {epoch, channels evicted, messages evicted, id 1, ..., id n}, or
// the error NOEPOCH (or CORRUPT <key>, with nothing written).
extern const std::string kRedisPublishScript;

// The helpers every script starts with, and the publishing half of the
// publish script (publishOne, dropChannel and their state table), for the
// stream script (redis_stream_scripts.h) to publish exactly as a /send does.
// Its KEYS and ARGV must begin as kRedisPublishScript's: KEYS 1 to 4 and
// ARGV 1 to 6. A function, not a constant, so that another file's constant
// cannot be built from it before it exists.
std::string redisPublishLibrary();

// KEYS: 1 P epoch, 2 P ch:<channel>, 3 P channels, 4 P bytes,
// 5 P cost:<channel>, 6 P floor.

// ARGV: max length, max age in ms (0: none), XRANGE start ("-" or "(<id>"),
// count (0: no entries). Returns {epoch, last-generated-id,
// max-deleted-entry-id, first id, entries, 1 if anything was ever trimmed
// else 0, floor}; ids are "" when there is none ("0-0" for max-deleted).
extern const std::string kRedisReadScript;

}  // namespace rtdemo
