// Implementation of SqliteReaders (see sqlite_reader.h).
#include "storage/sqlite_reader.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "Poco/Data/LOB.h"
#include "Poco/NumberParser.h"
#include "storage/clock.h"
#include "storage/cursor.h"
#include "storage/sqlite_status.h"
#include "storage/sqlite_streams.h"

namespace rtdemo {
namespace {

using Poco::Int64;
using Poco::Data::Session;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;
using Poco::Data::Keywords::useRef;


// A channel history does not know is treated as evicted: its last sequence
// is the floor every channel created from now on starts at (history_cap.h).
Int64 seqFloor(Session& s) {
  std::vector<std::string> floor;
  s << "SELECT value FROM meta WHERE key = 'seq_floor'", into(floor), now;
  Int64 value = 0;
  if (floor.empty() || !Poco::NumberParser::tryParse64(floor[0], value)) return 0;
  return value;
}

}  // namespace

// Holds one reader connection for the scope of one read: a free one if there
// is any, else waits for one, starting the search at a rotating index.
class SqliteReaders::Lease {
 public:
  explicit Lease(SqliteReaders* owner) {
    auto& readers = owner->readers_;
    size_t start = owner->next_.fetch_add(1) % readers.size();
    for (size_t i = 0; i < readers.size() && !reader_; ++i) {
      Reader* r = readers[(start + i) % readers.size()].get();
      if (r->mu.try_lock()) reader_ = r;
    }
    if (!reader_) {
      reader_ = readers[start].get();
      reader_->mu.lock();
    }
  }
  ~Lease() { reader_->mu.unlock(); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Reader* operator->() const { return reader_; }

 private:
  Reader* reader_ = nullptr;
};

SqliteReaders::SqliteReaders(std::vector<std::unique_ptr<Session>> sessions,
                             std::string epoch, size_t historySize,
                             int64_t maxAgeMs, std::shared_ptr<const WallClock> clock)
    : epoch_(std::move(epoch)),
      historySize_(historySize > 0 ? historySize : 1),
      maxAgeMs_(maxAgeMs),
      clock_(std::move(clock)) {
  for (auto& session : sessions) {
    readers_.push_back(std::make_unique<Reader>());
    readers_.back()->session = std::move(session);
  }
}

Status SqliteReaders::readAfter(const std::string& channel,
                                const std::string& cursor, size_t limit,
                                HistoryRead* out) {
  *out = HistoryRead();
  Lease reader(this);
  Session& s = *reader->session;
  try {
    s << "BEGIN", now;  // one snapshot for last_seq and the rows
    Int64 channelId = 0, lastSeq = 0;
    s << "SELECT id, last_seq FROM channels WHERE name = ?", useRef(channel),
        into(channelId), into(lastSeq), now;
    if (channelId == 0) lastSeq = seqFloor(s);
    uint64_t last = static_cast<uint64_t>(lastSeq);
    Int64 floor = last > historySize_ ? lastSeq - Int64(historySize_) : 0;
    Int64 cutoff = maxAgeMs_ > 0 ? clock_->nowMs() - maxAgeMs_
                                 : std::numeric_limits<Int64>::min();
    // The first retained row: past the count limit and stamped inside
    // max-age. Everything after it is retained too (see the header: age
    // expiry is a prefix in seq order, whatever the later stamps say).
    Int64 oldest = 0;
    if (channelId != 0) {
      s << "SELECT seq FROM messages WHERE channel_id = ? AND seq > ? AND "
           "ts_ms >= ? ORDER BY seq LIMIT 1",
          use(channelId), use(floor), use(cutoff), into(oldest), now;
    }
    uint64_t after = resolveDenseCursor(cursor, epoch_, static_cast<uint64_t>(oldest), last, out);
    if (oldest != 0 && limit > 0) {
      // Past the cursor, and from the first retained row even when the
      // writer has not deleted the rows before it yet.
      Int64 from = std::max(Int64(after), oldest - 1);
      Int64 max = static_cast<Int64>(
          std::min<size_t>(limit, std::numeric_limits<Int64>::max()));
      std::vector<Int64> seqs, stamps;
      std::vector<std::string> events;
      std::vector<Poco::Data::BLOB> datas;  // as BLOB: text would stop at NUL
      s << "SELECT seq, ts_ms, event, data FROM messages WHERE channel_id = "
           "? AND seq > ? ORDER BY seq LIMIT ?",
          use(channelId), use(from), use(max), into(seqs),
          into(stamps), into(events), into(datas), now;
      out->messages.reserve(seqs.size());
      for (size_t i = 0; i < seqs.size(); ++i) {
        const auto& bytes = datas[i].content();
        out->messages.push_back(
            makeMessage(channel, MessageId{epoch_, uint64_t(seqs[i]), 0},
                        std::move(events[i]),
                        std::string(bytes.begin(), bytes.end()), stamps[i]));
      }
    }
    s << "COMMIT", now;
    return Status::OK();
  } catch (const Poco::Exception& e) {
    rollbackQuietly(s);
    *out = HistoryRead();
    return sqliteStatus(e, "reading history of channel " + channel);
  }
}

Status SqliteReaders::lastId(const std::string& channel, std::string* out) {
  Lease reader(this);
  try {
    Session& s = *reader->session;
    std::vector<Int64> lastSeq;
    s << "SELECT last_seq FROM channels WHERE name = ?", useRef(channel),
        into(lastSeq), now;
    if (lastSeq.empty()) lastSeq.push_back(seqFloor(s));
    *out = MessageId{epoch_, uint64_t(lastSeq[0]), 0}.toString();
    return Status::OK();
  } catch (const Poco::Exception& e) {
    return sqliteStatus(e, "reading the last id of channel " + channel);
  }
}

Status SqliteReaders::streamInfo(const std::string& channel, StreamInfo* out,
                                 bool* exists) {
  Lease reader(this);
  Session& s = *reader->session;
  try {
    s << "BEGIN", now;  // one snapshot for the stream row and last_seq
    readStreamRow(s, epoch_, channel, out, exists);
    s << "COMMIT", now;
    return Status::OK();
  } catch (const Poco::Exception& e) {
    rollbackQuietly(s);
    *exists = false;
    return sqliteStatus(e, "reading stream " + channel);
  }
}

}  // namespace rtdemo
