// Shared vocabulary of the Redis backend: key names, stream ids, and how a
// stream entry becomes a Message.
//
// Layout in Redis, under the configured prefix P:
//   P epoch          the history epoch (a random token, SET NX by whoever
//                    finds it missing);
//   P ch:<channel>   one stream per channel; each entry holds the fields
//                    p (epoch at publish), e (event, may be empty), d (data);
//                    the entry id "<ms>-<n>" is the message id and ms its
//                    store time;
//   P wake:<token>   a per-instance stream whose only job is to wake that
//                    instance's blocked live reader (see redis_live_reader.h);
//                    its ids are "0-<n>" from a counter of that instance, not
//                    the clock, so a recreated stream (after a flush) never
//                    restarts below the reader's cursor;
//   P channels       sorted set of every channel with a stream, ordered by
//                    its last publish (the global cap evicts the lowest);
//   P cost:<channel> list of each entry's messageCost(), oldest first;
//   P bytes          the sum of every cost list;
//   P floor          the highest last-generated-id of an evicted stream
//                    (redis_scripts.h explains the cap's keys);
//   P smeta:{<channel>}, P sprod:{<channel>}
//                    a Durable Stream's metadata and producers
//                    (redis_stream_scripts.h);
//   P next:<epoch>   written once epoch <epoch> has been replaced: every live
//                    reader that still believes in <epoch> blocks on it from
//                    0-0, so whoever first sees the new epoch wakes them all
//                    (expires after a day).
// Channel names are validated by the service ([A-Za-z0-9._:-]), so they can
// be used in key names as they are.
//
// Thread-safe: free functions and value types only.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/message.h"
#include "storage/redis_connection.h"
#include "storage/status.h"

struct redisReply;

namespace rtdemo {

// A Redis stream id "<ms>-<seq>".
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  static std::optional<StreamId> parse(std::string_view text);
  std::string toString() const;
  bool operator<(const StreamId& o) const {
    return ms < o.ms || (ms == o.ms && seq < o.seq);
  }
  bool operator==(const StreamId& o) const { return ms == o.ms && seq == o.seq; }
  bool operator!=(const StreamId& o) const { return !(*this == o); }
};

inline std::string epochKey(const std::string& prefix) { return prefix + "epoch"; }
inline std::string channelKey(const std::string& prefix, const std::string& channel) {
  return prefix + "ch:" + channel;
}
inline std::string wakeKey(const std::string& prefix, const std::string& token) {
  return prefix + "wake:" + token;
}
inline std::string channelsKey(const std::string& prefix) { return prefix + "channels"; }
inline std::string bytesKey(const std::string& prefix) { return prefix + "bytes"; }
inline std::string floorKey(const std::string& prefix) { return prefix + "floor"; }
inline std::string costKey(const std::string& prefix, const std::string& channel) {
  return prefix + "cost:" + channel;
}
// A Durable Stream's metadata and producer state (redis_stream_scripts.h),
// tagged {channel} so that a Redis Cluster keeps them on one slot.
inline std::string streamMetaKey(const std::string& prefix, const std::string& channel) {
  return prefix + "smeta:{" + channel + "}";
}
inline std::string streamProducersKey(const std::string& prefix, const std::string& channel) {
  return prefix + "sprod:{" + channel + "}";
}
inline std::string nextEpochKey(const std::string& prefix, const std::string& epoch) {
  return prefix + "next:" + epoch;
}

// Turns one stream entry ([id, [field, value, ...]]) into a Message. The
// epoch stored in the entry wins over `fallbackEpoch`, so that every instance
// and every read path gives the same id for the same entry. Returns nullptr
// for an entry that is not shaped like ours.
MessagePtr messageFromEntry(const std::string& channel, const redisReply* entry,
                            const std::string& fallbackEpoch);

// The history epoch as this instance last saw it in Redis. Every read and
// write path reports what it saw, so that a flushed or replaced Redis is
// noticed by whichever path touches it first. Thread-safe.
class EpochCell {
 public:
  // "" until Redis has been reached once.
  std::string get() const;
  // Records the epoch seen in Redis and logs a change. Returns the epoch it
  // held before ("" for none).
  std::string set(const std::string& epoch);

 private:
  mutable std::mutex mu_;
  std::string epoch_;  // guarded by mu_
};

// Reads the epoch key, creating it with a fresh token when it is missing
// (SET NX: when several instances find it missing at once, one token wins and
// all of them read that one).
Status loadEpoch(RedisConnection* conn, const std::string& prefix, std::string* epoch);

// True for an error reply whose text starts with `prefix` ("NOEPOCH").
bool isRedisError(const redisReply* r, const char* prefix);

// The SHA1 Redis names a script by (EVALSHA), in hex.
std::string redisScriptSha(const std::string& script);

// Called with every epoch a script's reply carried, and the connection.
using RedisEpochNote = std::function<void(RedisConnection*, const std::string&)>;

// Runs one of our scripts with `keys` (KEYS[1] must be P epoch) and `args`:
// EVALSHA, falling back to EVAL when Redis lost its script cache (a
// restart). A script that found the epoch missing (NOEPOCH) ran nothing: the
// epoch is recreated (loadEpoch), reported to `noteEpoch`, and the script
// run once more. *reply holds the last reply, an error reply included.
Status runRedisScript(RedisConnection* conn, const std::string& prefix,
                      const std::string& script, const std::string& sha,
                      const std::vector<std::string>& keys,
                      const std::vector<std::string>& args, Resend resend,
                      const RedisEpochNote& noteEpoch, RedisReplyPtr* reply);

// Tells every live reader still blocked on `before` that the epoch moved to
// `now` (XADD P next:<before>), when both are set and differ. Whoever first
// notices a change calls it; later callers add a harmless duplicate. Best
// effort: a reader that misses it still sees the change with its next read.
void announceEpochChange(RedisConnection* conn, const std::string& prefix,
                         const std::string& before, const std::string& now);

}  // namespace rtdemo
