// rtdemo_sqlite_bench: the ceiling that the SQLite backend is measured
// against. A plain single-connection insert loop on the SQLite C API, with the
// settings rtdemo uses (WAL, synchronous FULL or NORMAL, the same messages
// table and index), run twice: one transaction per insert (what publishing
// costs with no group commit), then N inserts per transaction (what group
// commit can approach). bench/sqlite_publish.sh runs it next to wrk on
// POST /send and prints the ratio.
//
// Output: one "key=value ..." line per loop, for the script to parse.
// Single-threaded.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

struct Options {
  std::string path;
  std::string synchronous = "full";
  double seconds = 5;
  int batch = 64;
  size_t dataBytes = 5;  // "hello", as bench/wrk_send.lua sends
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "rtdemo_sqlite_bench: %s\n"
               "usage: rtdemo_sqlite_bench --path FILE [--synchronous full|normal]\n"
               "       [--seconds S] [--batch N] [--data-bytes B]\n"
               "FILE is deleted and recreated.\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--path") o.path = value();
    else if (a == "--synchronous") o.synchronous = value();
    else if (a == "--seconds") o.seconds = std::atof(value().c_str());
    else if (a == "--batch") o.batch = std::atoi(value().c_str());
    else if (a == "--data-bytes") o.dataBytes = std::strtoul(value().c_str(), nullptr, 10);
    else usage(("unknown option " + a).c_str());
  }
  if (o.path.empty()) usage("--path is required");
  if (o.synchronous != "full" && o.synchronous != "normal")
    usage("--synchronous must be full or normal");
  if (o.seconds <= 0 || o.batch < 1) usage("--seconds and --batch must be positive");
  return o;
}

void check(sqlite3* db, int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  std::fprintf(stderr, "rtdemo_sqlite_bench: %s: %s\n", what, sqlite3_errmsg(db));
  std::exit(1);
}

void exec(sqlite3* db, const std::string& sql) {
  check(db, sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), sql.c_str());
}

// Inserts for `seconds`, `perTx` rows per transaction; returns rows/s.
double run(sqlite3* db, sqlite3_stmt* insert, const Options& o, int perTx,
           long long* seq) {
  using Clock = std::chrono::steady_clock;
  std::string data(o.dataBytes, 'x');
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(o.seconds);
  long long rows = 0;
  while (Clock::now() < end) {
    exec(db, "BEGIN IMMEDIATE");
    for (int i = 0; i < perTx; ++i) {
      sqlite3_bind_int64(insert, 1, 1);
      sqlite3_bind_int64(insert, 2, ++*seq);
      sqlite3_bind_int64(insert, 3, static_cast<long long>(std::time(nullptr)) * 1000);
      sqlite3_bind_text(insert, 4, "", 0, SQLITE_STATIC);
      sqlite3_bind_text(insert, 5, data.data(), static_cast<int>(data.size()), SQLITE_STATIC);
      check(db, sqlite3_step(insert), "insert");
      sqlite3_reset(insert);
    }
    exec(db, "COMMIT");
    rows += perTx;
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return rows / secs;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((o.path + suffix).c_str());
  sqlite3* db = nullptr;
  if (sqlite3_open(o.path.c_str(), &db) != SQLITE_OK) {
    std::fprintf(stderr, "rtdemo_sqlite_bench: cannot open %s\n", o.path.c_str());
    return 1;
  }
  exec(db, "PRAGMA journal_mode = WAL");
  exec(db, o.synchronous == "full" ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  // The same table and index as storage/sqlite_schema.cc.
  exec(db,
       "CREATE TABLE messages(id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, "
       "seq INTEGER NOT NULL, ts_ms INTEGER NOT NULL, event TEXT NOT NULL, "
       "data TEXT NOT NULL)");
  exec(db, "CREATE UNIQUE INDEX messages_by_channel ON messages(channel_id, seq)");
  sqlite3_stmt* insert = nullptr;
  check(db,
        sqlite3_prepare_v2(db,
                           "INSERT INTO messages(channel_id, seq, ts_ms, event, data) "
                           "VALUES(?, ?, ?, ?, ?)",
                           -1, &insert, nullptr),
        "prepare");
  long long seq = 0;
  double single = run(db, insert, o, 1, &seq);
  std::printf("mode=per-insert synchronous=%s batch=1 inserts_per_sec=%.0f\n",
              o.synchronous.c_str(), single);
  double batched = run(db, insert, o, o.batch, &seq);
  std::printf("mode=batched synchronous=%s batch=%d inserts_per_sec=%.0f\n",
              o.synchronous.c_str(), o.batch, batched);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((o.path + suffix).c_str());
  return 0;
}
