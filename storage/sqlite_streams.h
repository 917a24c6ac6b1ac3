// The SQLite backend's Durable Streams tables (docs/durable-streams.md):
// reading a stream's metadata, and the writer's side of create, append and
// delete, run inside the writer's transaction so that the checks, the
// message rows, the producer state and the metadata commit together. That
// is what makes a producer's retry after a crash a duplicate (204), never a
// second copy: the producer row is in the same COMMIT as the message rows.
//
// Tables (schema version 3, sqlite_schema.h):
//   streams(name, content_type, ttl_s, expires_ms, closed, start_seq,
//           created_ms, access_ms, last_stream_seq, deleted)
//   producers(stream, producer, epoch, last_seq)
//   stream_forks(name, source, fork_seq, own_start, point_given, sub_offset)
// A fork's row in stream_forks names its source and fork point; a stream's
// fork count is the rows naming it as source. `deleted` is a soft delete: a
// stream deleted (or expired) while it has forks keeps its rows and history
// for them, and is dropped, with its own source if that is soft-deleted
// too, when its last fork is (docs/durable-streams.md, "Forks").
// keyed by channel name, not channels.id, because the channel row may be
// evicted by the global cap (history_cap.h) while the stream stays.
//
// Not thread-safe: readStream() runs on whichever connection the caller
// holds; SqliteStreamWriter belongs to the writer thread. Every function that
// touches the file throws Poco::Exception.
#pragma once

#include <functional>
#include <string>

#include "Poco/Data/Session.h"
#include "storage/sqlite_channels.h"
#include "storage/stream.h"

namespace rtdemo {

// Reads `channel`'s stream row (and the channel's last sequence for
// tailId) on `s`. Sets *exists; expiry is not applied here.
void readStreamRow(Poco::Data::Session& s, const std::string& epoch,
                   const std::string& channel, StreamInfo* out, bool* exists);

// The writer thread's stream operations.
class SqliteStreamWriter {
 public:
  // Stores one message of `ch` in the current transaction and returns it.
  using StoreRow = std::function<MessagePtr(SqliteChannels::Channel* ch,
                                            const std::string& channel,
                                            const std::string& event,
                                            const std::string& data)>;

  // `db` and `channels` must outlive this object.
  SqliteStreamWriter(Poco::Data::Session* db, SqliteChannels* channels,
                     std::string epoch, StoreRow storeRow);

  // As Broker::createStream/appendStream/deleteStream, inside the writer's
  // open transaction, at wall time `nowMs` (not `now`: that name is
  // Poco's statement keyword, and shadowing it silently skips execution). `touchedMs` is the last read of
  // the stream that only memory knows (0: none), for the TTL.
  void create(const std::string& channel, const StreamConfig& config,
              const StreamAppend& initial, int64_t nowMs, int64_t touchedMs,
              StreamResult* out);
  void append(const std::string& channel, const StreamAppend& append,
              int64_t nowMs, int64_t touchedMs, StreamResult* out);
  void remove(const std::string& channel, int64_t nowMs, int64_t touchedMs,
              StreamResult* out);
  // As Broker::createFork; `touchedMs` answers the last read of a channel.
  using Touched = std::function<int64_t(const std::string&)>;
  void createFork(const std::string& channel, const StreamConfig& config,
                  const ForkSpec& fork, const StreamAppend& initial, int64_t nowMs,
                  const Touched& touchedMs, StreamResult* out);
  // True when a publish (/send) to `channel` must be refused: it is a
  // closed stream.
  bool refusesPublish(const std::string& channel, int64_t nowMs, int64_t touchedMs);

 private:
  // The stream (soft-deleted ones too), or false; an expired one is
  // dropped first (soft-deleted when it has forks).
  bool live(const std::string& channel, int64_t nowMs, int64_t touchedMs,
            StreamInfo* info);
  void insertStream(const std::string& channel, const StreamConfig& config,
                    Poco::Int64 startSeq, bool closed, int64_t nowMs);
  void softDelete(const std::string& channel);
  // Removes the stream and its history; cascades to a soft-deleted source
  // left with no fork.
  void drop(const std::string& channel);
  std::string tail(const std::string& channel);

  Poco::Data::Session* const db_;
  SqliteChannels* const channels_;
  const std::string epoch_;
  const StoreRow storeRow_;
};

}  // namespace rtdemo
