// The read side of the SQLite backend: history reads and last ids, served by
// a small pool of read-only connections so that they run while the writer
// thread commits (WAL lets readers and one writer proceed together).
//
// Each read is one snapshot transaction, so a channel's last_seq and the rows
// read with it agree. Retention is applied here as a filter, so that rows the
// writer has not deleted yet are never served:
//   - count: seq > last_seq - history.size;
//   - age: a *prefix* in seq order. The channel's history starts at its first
//     row stamped inside max-age (ts_ms >= now - max-age), and every later
//     row is served whatever its stamp. Stamps come from the wall clock,
//     which can step back: a row stored after the step carries an earlier
//     stamp than the rows before it. Filtering each row on its own stamp
//     would drop such a middle row while serving its neighbours, a gap that
//     no `reset` announces. So a row may outlive max-age by as much as the
//     clock stepped back, never the other way round. (The writer deletes by
//     age in the same way: a prefix of store order, sqlite_broker.cc.)
//
// Thread-safe: any number of threads may read at once; each read holds one
// connection (waiting for one when all are busy).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "Poco/Data/Session.h"
#include "storage/broker.h"
#include "storage/clock.h"

namespace rtdemo {

class SqliteReaders {
 public:
  // REQUIRES: sessions is not empty; each is a read-only connection to the
  // history whose epoch is `epoch`.
  SqliteReaders(std::vector<std::unique_ptr<Poco::Data::Session>> sessions,
                std::string epoch, size_t historySize, int64_t maxAgeMs,
                std::shared_ptr<const WallClock> clock);

  // As Broker::readAfter and Broker::lastId.
  Status readAfter(const std::string& channel, const std::string& cursor,
                   size_t limit, HistoryRead* out);
  Status lastId(const std::string& channel, std::string* out);
  // The stream row of `channel` (sqlite_streams.h), expiry not applied.
  Status streamInfo(const std::string& channel, StreamInfo* out, bool* exists);

 private:
  struct Reader {
    std::mutex mu;
    std::unique_ptr<Poco::Data::Session> session;
  };
  class Lease;

  // Constant after construction.
  const std::string epoch_;
  const size_t historySize_;
  const int64_t maxAgeMs_;
  const std::shared_ptr<const WallClock> clock_;
  std::vector<std::unique_ptr<Reader>> readers_;  // each guarded by its mu

  std::atomic<size_t> next_{0};
};

}  // namespace rtdemo
