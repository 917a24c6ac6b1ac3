// Opening the SQLite history file: every check that must pass before rtdemo
// writes a single byte to it, and the schema it creates in a new file.
//
// The order is what keeps a bad file untouched (issue 3): the directory is
// checked first, then the file header is read as plain bytes, then an
// exclusive advisory lock is taken, then the file is opened read-only to
// check its schema and integrity. Only a file that passed all of that (or a
// new, empty one) is opened for writing.
//
// Schema, version 3 (PRAGMA user_version = 3, application_id = 'rtd0'):
//   meta(key, value)                  epoch, schema_version, created_ms
//   channels(id, name, last_seq)      last issued sequence; survives trimming
//   messages(id, channel_id, seq, ts_ms, event, data)
//     id is the rowid, so rowid order is store order (age trimming walks it);
//     (channel_id, seq) is unique and serves every history read.
//     ts_ms sits before data so reading it never touches overflow pages.
//   streams, producers                Durable Streams (sqlite_streams.h);
//     version 2 added them, and a version 1 file gets them, empty, the first
//     time it is opened for writing (a version 1 rtdemo then refuses it).
//   streams.deleted, stream_forks     forks and soft delete; version 3 added
//     them, and an older file gets them in the same way.
//
// Not thread-safe: called once, from openSqliteBroker().
#pragma once

#include <memory>
#include <string>

#include "Poco/Data/Session.h"
#include "storage/broker_config.h"
#include "storage/status.h"

namespace rtdemo {

constexpr int kSqliteSchemaVersion = 3;

// An flock() on the database file, held for as long as a broker uses it, so
// that a second rtdemo on the same file fails at start instead of issuing the
// same ids. (flock and SQLite's own fcntl locks do not interact on Linux.)
// The descriptor must be closed only after every SQLite connection to the
// file is closed: closing any descriptor of a file drops the process's fcntl
// locks on it.
class SqliteFileLock {
 public:
  explicit SqliteFileLock(int fd) : fd_(fd) {}
  ~SqliteFileLock();
  SqliteFileLock(const SqliteFileLock&) = delete;
  SqliteFileLock& operator=(const SqliteFileLock&) = delete;

 private:
  const int fd_;
};

struct SqliteOpened {
  std::unique_ptr<SqliteFileLock> lock;
  std::unique_ptr<Poco::Data::Session> writer;  // WAL, synchronous set
  std::string path;                             // as opened
  std::string epoch;
};

// Checks, locks and opens config.sqlitePath, creating the schema in a new
// file. On failure returns a one-line reason and leaves the file as it was.
Status openSqliteFile(const BrokerConfig& config, SqliteOpened* out);

// Another connection to a file openSqliteFile() accepted, for reading.
// Throws Poco::Exception.
std::unique_ptr<Poco::Data::Session> openSqliteReader(const std::string& path,
                                                      int busyTimeoutMs);

}  // namespace rtdemo
