// Implementation of openSqliteFile() (see sqlite_schema.h for the order of
// the checks and why it matters).
#include "storage/sqlite_schema.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "Poco/Data/SQLite/Connector.h"
#include "Poco/String.h"
#include "storage/clock.h"
#include "storage/message_id.h"
#include "storage/sqlite_status.h"

using Poco::Data::Session;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

namespace rtdemo {
namespace {

// "rtd0": tells an rtdemo history apart from any other SQLite database.
constexpr Poco::Int64 kApplicationId = 0x72746430;
// The first 16 bytes of every SQLite 3 database file, NUL included.
constexpr char kSqliteMagic[] = "SQLite format 3";
constexpr size_t kSqliteHeaderBytes = 100;

void registerConnector() {
  static std::once_flag once;
  std::call_once(once,
                 [] { Poco::Data::SQLite::Connector::registerConnector(); });
}

// Poco's messages sometimes end with a newline; the caller prints one line.
std::string oneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return Poco::trim(text);
}

std::string parentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// A file: URI, so that Poco's sqlite3_open_v2(..., SQLITE_OPEN_URI) honours
// mode=ro. Only characters that mean something in a URI are escaped.
std::string readOnlyUri(const std::string& path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-' ||
        c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri + "?mode=ro";
}

std::string lockedMessage(const std::string& path, int timeoutMs) {
  return path + " is locked by another process (still locked after " +
         std::to_string(timeoutMs) +
         " ms, rtdemo.sqlite.busy-timeout.ms); is another rtdemo using it?";
}

void setBusyTimeout(Session& s, int ms) {
  s << "PRAGMA busy_timeout = " + std::to_string(ms), now;
}

Status checkDirectory(const std::string& path) {
  std::string dir = parentDir(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    std::string why = errno == ENOENT ? "does not exist" : std::strerror(errno);
    return Status::InvalidArgument(
        "directory " + dir + " " + why + " (rtdemo.sqlite.path is " + path +
        "; create the directory or change the path)");
  }
  if (!S_ISDIR(st.st_mode))
    return Status::InvalidArgument(dir + " (in " + path +
                                   ") is not a directory");
  // SQLite creates the -wal and -shm files next to the database.
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status::InvalidArgument("directory " + dir + " is not writable (" +
                                   std::strerror(errno) +
                                   "); rtdemo keeps its database there");
  }
  return Status::OK();
}

// Reads the file as plain bytes, so that a file that is not a database is
// never handed to SQLite at all.
Status checkExistingFile(const std::string& path, bool* exists, bool* empty) {
  *exists = false;
  *empty = true;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::OK();
    return Status::InvalidArgument(path + ": " + std::strerror(errno));
  }
  *exists = true;
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument(path + " is not a regular file");
  if (::access(path.c_str(), R_OK | W_OK) != 0) {
    return Status::InvalidArgument(path + " is not readable and writable (" +
                                   std::strerror(errno) + ")");
  }
  if (st.st_size == 0) return Status::OK();
  *empty = false;
  char header[kSqliteHeaderBytes] = {};
  ssize_t got = -1;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    got = ::read(fd, header, sizeof header);
    ::close(fd);
  }
  if (got < 0)
    return Status::InvalidArgument("cannot read " + path + ": " +
                                   std::strerror(errno));
  if (static_cast<size_t>(got) < kSqliteHeaderBytes ||
      std::memcmp(header, kSqliteMagic, sizeof kSqliteMagic) != 0) {
    return Status::Corruption(path +
                              " is not a SQLite database (no SQLite header); "
                              "rtdemo leaves it as it is");
  }
  return Status::OK();
}

Status lockFile(const std::string& path, int timeoutMs,
                std::unique_ptr<SqliteFileLock>* out) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::InvalidArgument("cannot open " + path + ": " +
                                   std::strerror(errno));
  }
  auto lock = std::make_unique<SqliteFileLock>(fd);
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  // flock() has no timed wait; a short poll is what bounds it.
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Status::Unavailable("cannot lock " + path + ": " +
                                 std::strerror(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Unavailable(lockedMessage(path, timeoutMs));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  *out = std::move(lock);
  return Status::OK();
}

// Looks at an existing database without writing to it. Sets *isNew for a
// database with nothing in it (a file another tool created empty).
Status probeReadOnly(const std::string& path, int busyTimeoutMs, bool* isNew) {
  *isNew = false;
  try {
    Session s("SQLite", readOnlyUri(path), 0);
    setBusyTimeout(s, busyTimeoutMs);
    Poco::Int64 appId = 0, version = 0, objects = 0;
    s << "PRAGMA application_id", into(appId), now;
    s << "PRAGMA user_version", into(version), now;
    s << "SELECT count(*) FROM sqlite_master", into(objects), now;
    if (appId == 0 && version == 0 && objects == 0) {
      *isNew = true;
      return Status::OK();
    }
    if (appId != kApplicationId) {
      return Status::InvalidArgument(
          path +
          " is a SQLite database but not an rtdemo history "
          "(application_id " +
          std::to_string(appId) + "); rtdemo leaves it as it is");
    }
    if (version > kSqliteSchemaVersion) {
      return Status::NotSupported(path + " has rtdemo schema version " +
                                  std::to_string(version) +
                                  ", newer than this rtdemo supports (" +
                                  std::to_string(kSqliteSchemaVersion) +
                                  "); run a newer rtdemo or use another file");
    }
    if (version < 1) {
      return Status::NotSupported(
          path + " has an unknown rtdemo schema version " +
          std::to_string(version) + "; rtdemo leaves it as it is");
    }
    // Bounded by retention, so cheap; catches a damaged file at start rather
    // than at the first publish that touches the damaged page.
    std::string check;
    s << "PRAGMA quick_check(1)", into(check), now;
    if (check != "ok") {
      return Status::Corruption(path +
                                " is corrupt (quick_check: " + oneLine(check) +
                                "); rtdemo leaves it as it is");
    }
    return Status::OK();
  } catch (const Poco::Exception& e) {
    if (sqliteIsLocked(e))
      return Status::Unavailable(lockedMessage(path, busyTimeoutMs));
    return Status::Corruption(path + " is corrupt or not a SQLite database (" +
                              oneLine(e.displayText()) +
                              "); rtdemo leaves it as it is");
  }
}

// Version 2: the Durable Streams tables (sqlite_streams.h). A version 1
// file gets them when this rtdemo first opens it for writing.
void createStreamTables(Session& s) {
  s << "CREATE TABLE streams(name TEXT PRIMARY KEY, content_type TEXT NOT NULL, "
       "ttl_s INTEGER NOT NULL, expires_ms INTEGER NOT NULL, closed INTEGER NOT NULL, "
       "start_seq INTEGER NOT NULL, created_ms INTEGER NOT NULL, access_ms INTEGER NOT "
       "NULL, last_stream_seq TEXT NOT NULL) WITHOUT ROWID",
      now;
  s << "CREATE TABLE producers(stream TEXT NOT NULL, producer TEXT NOT NULL, epoch "
       "INTEGER NOT NULL, last_seq INTEGER NOT NULL, PRIMARY KEY(stream, producer)) "
       "WITHOUT ROWID",
      now;
}

// Version 3: forks and soft delete (sqlite_streams.h). A stream row's
// `deleted` marks a stream kept for its forks; stream_forks holds a fork's
// origin, and its index by source counts a stream's forks.
void createForkTables(Session& s) {
  s << "ALTER TABLE streams ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0", now;
  s << "CREATE TABLE stream_forks(name TEXT PRIMARY KEY, source TEXT NOT NULL, "
       "fork_seq INTEGER NOT NULL, own_start INTEGER NOT NULL, point_given INTEGER NOT "
       "NULL, sub_offset INTEGER NOT NULL) WITHOUT ROWID",
      now;
  s << "CREATE INDEX stream_forks_by_source ON stream_forks(source)", now;
}

void createSchema(Session& s, const std::string& epoch) {
  s << "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) "
       "WITHOUT ROWID",
      now;
  s << "CREATE TABLE channels(id INTEGER PRIMARY KEY, name TEXT NOT NULL "
       "UNIQUE, last_seq INTEGER NOT NULL)",
      now;
  s << "CREATE TABLE messages(id INTEGER PRIMARY KEY, channel_id INTEGER NOT "
       "NULL, seq INTEGER NOT NULL, ts_ms INTEGER NOT NULL, event TEXT NOT "
       "NULL, data TEXT NOT NULL)",
      now;
  s << "CREATE UNIQUE INDEX messages_by_channel ON messages(channel_id, seq)",
      now;
  createStreamTables(s);
  createForkTables(s);
  std::string version = std::to_string(kSqliteSchemaVersion);
  std::string created = std::to_string(nowMs());
  std::string e = epoch;
  s << "INSERT INTO meta(key, value) VALUES('epoch', ?), "
       "('schema_version', ?), ('created_ms', ?)",
      use(e), use(version), use(created), now;
  s << "PRAGMA application_id = " + std::to_string(kApplicationId), now;
  s << "PRAGMA user_version = " + version, now;
}

Status openWriter(const std::string& path, const BrokerConfig& config,
                  bool isNew, SqliteOpened* out) {
  try {
    auto s = std::make_unique<Session>("SQLite", path, 0);
    setBusyTimeout(*s, config.sqliteBusyTimeoutMs);
    std::string mode;
    *s << "PRAGMA journal_mode = WAL", into(mode), now;
    if (Poco::toLower(mode) != "wal") {
      return Status::Unavailable("cannot switch " + path +
                                 " to WAL journal mode (it stays in " + mode +
                                 ")");
    }
    *s << std::string("PRAGMA synchronous = ") +
              (config.sqliteSynchronous == "normal" ? "NORMAL" : "FULL"),
        now;
    // IMMEDIATE takes the write lock now, so that a database another
    // process is writing to fails here, at start, after the busy timeout.
    *s << "BEGIN IMMEDIATE", now;
    std::string epoch;
    try {
      if (isNew) {
        createSchema(*s, newEpoch());
      } else {
        Poco::Int64 version = 0;
        *s << "PRAGMA user_version", into(version), now;
        if (version < kSqliteSchemaVersion) {
          if (version < 2) createStreamTables(*s);
          createForkTables(*s);
          *s << "PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion), now;
        }
      }
      *s << "SELECT value FROM meta WHERE key = 'epoch'", into(epoch), now;
      *s << "COMMIT", now;
    } catch (...) {
      try {
        *s << "ROLLBACK", now;
      } catch (const Poco::Exception&) {
        // The transaction may already be gone; the original error matters.
      }
      throw;
    }
    if (!isValidEpoch(epoch))
      return Status::Corruption(path + " holds no valid history epoch");
    out->writer = std::move(s);
    out->epoch = epoch;
    return Status::OK();
  } catch (const Poco::Exception& e) {
    if (sqliteIsLocked(e))
      return Status::Unavailable(
          lockedMessage(path, config.sqliteBusyTimeoutMs));
    return Status::Unavailable("cannot open " + path +
                               " for writing: " + oneLine(e.displayText()));
  }
}

}  // namespace

SqliteFileLock::~SqliteFileLock() { ::close(fd_); }

Status openSqliteFile(const BrokerConfig& config, SqliteOpened* out) {
  registerConnector();
  const std::string& path = config.sqlitePath;
  if (path.empty())
    return Status::InvalidArgument("rtdemo.sqlite.path is empty");
  if (config.sqliteSynchronous != "full" &&
      config.sqliteSynchronous != "normal") {
    return Status::InvalidArgument(
        "rtdemo.sqlite.synchronous must be full or normal, not '" +
        config.sqliteSynchronous + "'");
  }
  Status s = checkDirectory(path);
  if (!s.ok()) return s;
  bool exists = false, empty = true;
  s = checkExistingFile(path, &exists, &empty);
  if (!s.ok()) return s;
  SqliteOpened opened;
  opened.path = path;
  s = lockFile(path, config.sqliteBusyTimeoutMs, &opened.lock);
  if (!s.ok()) return s;
  bool isNew = !exists || empty;
  if (!isNew) {
    s = probeReadOnly(path, config.sqliteBusyTimeoutMs, &isNew);
    if (!s.ok()) return s;
  }
  s = openWriter(path, config, isNew, &opened);
  if (!s.ok()) return s;
  *out = std::move(opened);
  return Status::OK();
}

std::unique_ptr<Session> openSqliteReader(const std::string& path,
                                          int busyTimeoutMs) {
  registerConnector();
  auto s = std::make_unique<Session>("SQLite", readOnlyUri(path), 0);
  setBusyTimeout(*s, busyTimeoutMs);
  return s;
}

}  // namespace rtdemo
