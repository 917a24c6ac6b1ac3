// RedisStreams: the Redis backend's Durable Streams operations
// (Broker::createStream, appendStream, streamInfo, touchStream,
// deleteStream; docs/durable-streams.md).
//
// Each operation is one run of redisStreamScript() (redis_stream_scripts.h)
// on a pooled connection: the script reads the stream's metadata and the
// producer's state, decides (the Lua mirror of storage/stream_rules.h),
// and stores the messages, the producer state and the metadata, all in one
// atomic step. So a producer's retry after rtdemo died between the script
// and its answer finds the producer state that came with the messages and
// is a duplicate, never a second copy. Messages are published exactly as
// a /send publishes them (the publish script's own Lua, with its cap and
// retention), so live subscribers of any instance read them back from the
// channel's Redis stream.
//
// Time: the script ages streams (TTL, expiry) by BrokerConfig::clock when
// a test set one, and by Redis's TIME otherwise, so that every instance on
// one Redis agrees on when a stream expired.
//
// A command whose connection broke may have run: create, append and delete
// are not resent (the client retries; a producer's retry is then a
// duplicate), info and touch are.
//
// Thread-safe: every call takes its own connection from the pool.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/clock.h"
#include "storage/redis_connection.h"
#include "storage/redis_stream.h"
#include "storage/stream.h"

namespace rtdemo {

class RedisStreams {
 public:
  // `pool` must outlive this object. `limitArgs`: ARGV 1 to 6 of the
  // publish script (redis_publisher.h). `clock` may be null (Redis's TIME).
  RedisStreams(RedisPool* pool, std::string prefix, std::vector<std::string> limitArgs,
               std::shared_ptr<const WallClock> clock, RedisEpochNote noteEpoch);

  Status create(const std::string& channel, const StreamConfig& config,
                const StreamAppend& initial, StreamResult* out);
  Status append(const std::string& channel, const StreamAppend& append, StreamResult* out);
  Status info(const std::string& channel, StreamInfo* out, bool* exists);
  Status touch(const std::string& channel);
  Status remove(const std::string& channel, StreamResult* out);

 private:
  // Runs the script's operation `op` with the op's own ARGV (10 on).
  Status run(const std::string& op, const std::string& channel,
             const std::vector<std::string>& opArgs, Resend resend, RedisReplyPtr* reply);
  // Reads a {epoch, outcome, tail, closed, epoch, seq, ids...} reply.
  Status result(const RedisReplyPtr& reply, const std::string& channel,
                const std::string& event, const std::vector<std::string>& messages,
                StreamResult* out);

  RedisPool* const pool_;
  const std::string prefix_;
  const std::vector<std::string> limitArgs_;
  const std::shared_ptr<const WallClock> clock_;
  const RedisEpochNote noteEpoch_;
  const std::string sha_;
};

}  // namespace rtdemo
