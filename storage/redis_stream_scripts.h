// The Lua of the Redis backend's Durable Streams operations
// (docs/durable-streams.md): the decisions of storage/stream_rules.h written
// once more in Lua, and the one script that runs every stream operation.
//
// Why the rules exist twice: a producer's check and the append it allows
// must be one atomic step, or a retry after a crash between the two could
// be stored twice. On Redis the only atomic step is a script, so the check
// runs inside Redis. redisStreamRulesLua() mirrors stream_rules.cc function
// by function; tests/broker/redis_stream_rules_test.cc runs both on every
// combination of a grid of states and requests and requires the same
// answer, and the stream contract (tests/broker/stream_contract.cc) runs
// on Redis as on memory and SQLite.
//
// Keys, under the prefix P, for a stream on channel c (redis_stream.h has
// the rest): P smeta:{c}, a hash of the stream's metadata (ct, ttl, exp,
// closed, start, created, access, sseq), and P sprod:{c}, a hash of
// producer id -> "<epoch> <last seq>". Both carry the hash tag {c}, so that
// a Redis Cluster would keep them on one slot (docs/scaling.md).
//
// Thread-safe: constant text.
#pragma once

#include <string>

namespace rtdemo {

// Pure Lua functions, no redis.call: bytesLess, streamExpired, decideCreate,
// decideProducer, decideAppend (the shapes of their arguments are in the
// text). Outcomes are the short names of streamOutcomeCode().
const std::string& redisStreamRulesLua();

// One stream operation, atomically.
// KEYS: 1 P epoch, 2 P channels, 3 P bytes, 4 P floor, 5 P ch:<c>,
// 6 P cost:<c>, 7 P smeta:{c}, 8 P sprod:{c}.
// ARGV: 1 to 6 the publish script's limits (redis_scripts.h), 7 the
// operation (create, append, info, touch, delete), 8 the time in ms ("":
// Redis's TIME), 9 the channel, then per operation:
//   create: 10 content type, 11 ttl s, 12 expires-at ms, 13 close (0|1),
//           14 event, 15... messages
//   append: 10 content type, 11 event, 12 close, 13 has Stream-Seq (0|1),
//           14 Stream-Seq, 15 has producer (0|1), 16 producer id,
//           17 producer epoch, 18 producer seq, 19... messages
// Replies: info {epoch, 0} or {epoch, 1, content type, ttl, expires-at,
// closed, start id, tail id, created ms, access ms, Stream-Seq}; touch
// {epoch}; the others {epoch, outcome, tail id, closed, producer epoch,
// producer seq, id 1, ..., id n} (ids of what it stored). Numbers are
// decimal strings. Errors: NOEPOCH, or CORRUPT <key> with nothing written.
const std::string& redisStreamScript();

}  // namespace rtdemo
