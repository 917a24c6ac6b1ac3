// The SQLite backend's Durable Streams tables (docs/durable-streams.md):
// reading a stream's metadata, and the writer's side of create, append and
// delete, run inside the writer's transaction so that the checks, the
// message rows, the producer state and the metadata commit together. That
// is what makes a producer's retry after a crash a duplicate (204), never a
// second copy: the producer row is in the same COMMIT as the message rows.
//
// Tables (schema version 2, sqlite_schema.h):
//   streams(name, content_type, ttl_s, expires_ms, closed, start_seq,
//           created_ms, access_ms, last_stream_seq)
//   producers(stream, producer, epoch, last_seq)
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

 private:
  // The live stream, or false; an expired one is dropped first.
  bool live(const std::string& channel, int64_t nowMs, int64_t touchedMs,
            StreamInfo* info);
  void drop(const std::string& channel);
  std::string tail(const std::string& channel);

  Poco::Data::Session* const db_;
  SqliteChannels* const channels_;
  const std::string epoch_;
  const StoreRow storeRow_;
};

}  // namespace rtdemo
