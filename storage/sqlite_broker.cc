// The SQLite backend (see sqlite_broker.h).
//
// The life of a publish:
//   1. publish() queues a Pending that points at the caller's strings and
//      blocks on it. The caller's strings stay valid because it waits.
//   2. The writer thread takes everything queued (up to kMaxBatch) and stores
//      it in ONE transaction: sequences are assigned here, in queue order, so
//      ids of a channel strictly increase. This is group commit: while one
//      transaction is syncing, the next publishers queue up and share the
//      next one, so throughput grows with concurrency while every publisher
//      still waits for the COMMIT holding its own message.
//   3. After COMMIT succeeded, and only then, the writer hands the messages
//      to live subscribers (LiveRegistry, in id order per channel) and wakes
//      the publishers with their ids. Live delivery needs no polling of the
//      database: it comes straight from this path.
//   4. If anything in the transaction fails (disk full, I/O error, a lock
//      held by another process past the busy timeout), it is rolled back and
//      every publisher of the batch gets Unavailable: nothing of the batch was
//      stored, and what was acknowledged before stays.
//
// Retention: reads filter by count (seq > last_seq - history.size) and age
// (ts_ms >= now - max-age) themselves, so deleting rows can lag without a
// client ever seeing a message past retention. Deletion happens on the writer
// thread in steps of at most kTrimBatch rows per channel: inline for the
// channels a batch touched, and in a maintenance step when the queue is idle
// (and at least every kMaintenanceMs) for age and for channels with a
// backlog. No step holds the write transaction for long.
//
// Reads (readAfter, lastId) use a small pool of read-only connections; WAL
// lets them run while the writer commits. Each read is one snapshot
// transaction, so last_seq and the rows it sees agree.
//
// Thread-safety: every public method may be called from any thread. Members
// are grouped below by who may touch them.
#include "storage/sqlite_broker.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "Poco/Data/LOB.h"
#include "Poco/Data/Session.h"
#include "Poco/Data/Statement.h"
#include "Poco/Logger.h"
#include "storage/cursor.h"
#include "storage/live_registry.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_status.h"

namespace rtdemo {
namespace {

using Poco::Int64;
using Poco::Data::Session;
using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;
using Poco::Data::Keywords::useRef;

constexpr size_t kMaxBatch = 1024;       // publishes per transaction
constexpr Int64 kTrimBatch = 500;        // rows deleted per channel per step
constexpr size_t kTrimChannelsPerStep = 8;
constexpr auto kMaintenanceEvery = std::chrono::milliseconds(1000);
constexpr size_t kReaders = 4;

int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

void rollbackQuietly(Session& s) {
  try {
    s << "ROLLBACK", now;
  } catch (const Poco::Exception&) {
    // SQLite may have rolled back already (it does on SQLITE_FULL).
  }
}

class SqliteBroker : public Broker {
 public:
  SqliteBroker(const BrokerConfig& config, SqliteOpened opened,
               std::vector<std::unique_ptr<Session>> readers)
      : historySize_(config.historySize > 0 ? config.historySize : 1),
        maxAgeMs_(config.historyMaxAgeSeconds * 1000),
        epoch_(opened.epoch),
        lock_(std::move(opened.lock)),
        db_(std::move(opened.writer)),
        insert_((*db_ << "INSERT INTO messages(channel_id, seq, ts_ms, event, "
                         "data) VALUES(?, ?, ?, ?, ?)",
                 use(bChannel_), use(bSeq_), use(bTs_), use(bEvent_),
                 use(bData_))),
        updateLast_((*db_ << "UPDATE channels SET last_seq = ? WHERE id = ?",
                     use(bSeq_), use(bChannel_))),
        trimRange_((*db_ << "DELETE FROM messages WHERE channel_id = ? AND "
                            "seq > ? AND seq <= ?",
                    use(bChannel_), use(bFrom_), use(bTo_))) {
    for (auto& session : readers) {
      readers_.push_back(std::make_unique<Reader>());
      readers_.back()->session = std::move(session);
    }
  }

  ~SqliteBroker() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    writerCv_.notify_one();
    if (writer_.joinable()) writer_.join();
  }

  // Finds channels left over the count limit (history.size lowered since the
  // last run), then starts the writer. Throws Poco::Exception.
  void start() {
    std::vector<std::string> over;
    Int64 size = static_cast<Int64>(historySize_);
    *db_ << "SELECT c.name FROM channels c WHERE (SELECT MIN(seq) FROM "
            "messages m WHERE m.channel_id = c.id) <= c.last_seq - ?",
        use(size), into(over), now;
    trimBacklog_.insert(over.begin(), over.end());
    writer_ = std::thread([this] { writerLoop(); });
  }

  std::string name() const override { return "sqlite"; }
  std::string epoch() const override { return epoch_; }

  Status publish(const std::string& channel, const std::string& event,
                 const std::string& data, MessagePtr* out) override {
    Pending p{&channel, &event, &data};
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("the sqlite backend is closing");
    queue_.push_back(&p);
    writerCv_.notify_one();
    p.cv.wait(lock, [&] { return p.done; });
    if (p.status.ok()) *out = std::move(p.message);
    return p.status;
  }

  Status readAfter(const std::string& channel, const std::string& cursor,
                   size_t limit, HistoryRead* out) override {
    *out = HistoryRead();
    CursorCheck check = checkCursor(cursor, epoch_);
    ReaderLease reader(this);
    Session& s = *reader->session;
    try {
      s << "BEGIN", now;  // one snapshot for last_seq and the rows
      Int64 channelId = 0, lastSeq = 0;
      s << "SELECT id, last_seq FROM channels WHERE name = ?", useRef(channel),
          into(channelId), into(lastSeq), now;
      uint64_t last = static_cast<uint64_t>(lastSeq);
      Int64 floor = last > historySize_ ? lastSeq - Int64(historySize_) : 0;
      Int64 cutoff = maxAgeMs_ > 0 ? nowMs() - maxAgeMs_
                                   : std::numeric_limits<Int64>::min();
      Int64 oldest = 0;
      if (channelId != 0) {
        s << "SELECT seq FROM messages WHERE channel_id = ? AND seq > ? AND "
             "ts_ms >= ? ORDER BY seq LIMIT 1",
            use(channelId), use(floor), use(cutoff), into(oldest), now;
      }
      uint64_t after = 0;
      if (check.sameEpoch && !check.fromStart) {
        std::string gap =
            sequenceGap(check.id.major, static_cast<uint64_t>(oldest), last);
        if (gap.empty()) {
          after = check.id.major;
        } else {
          check.reason = gap;
          check.sameEpoch = false;
        }
      }
      if (!check.sameEpoch) {
        out->reset = true;
        out->resetReason = check.reason;
        if (oldest != 0)
          out->oldest = MessageId{epoch_, uint64_t(oldest), 0}.toString();
      }
      if (channelId != 0 && limit > 0) {
        Int64 from = std::max(Int64(after), floor);
        Int64 max = static_cast<Int64>(
            std::min<size_t>(limit, std::numeric_limits<Int64>::max()));
        std::vector<Int64> seqs, stamps;
        std::vector<std::string> events;
        std::vector<Poco::Data::BLOB> datas;  // as BLOB: text would stop at NUL
        s << "SELECT seq, ts_ms, event, data FROM messages WHERE channel_id = "
             "? AND seq > ? AND ts_ms >= ? ORDER BY seq LIMIT ?",
            use(channelId), use(from), use(cutoff), use(max), into(seqs),
            into(stamps), into(events), into(datas), now;
        out->messages.reserve(seqs.size());
        for (size_t i = 0; i < seqs.size(); ++i) {
          const auto& bytes = datas[i].content();
          out->messages.push_back(makeMessage(
              channel, MessageId{epoch_, uint64_t(seqs[i]), 0},
              std::move(events[i]), std::string(bytes.begin(), bytes.end()),
              stamps[i]));
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

  Status lastId(const std::string& channel, std::string* out) override {
    ReaderLease reader(this);
    try {
      Int64 lastSeq = 0;
      *reader->session << "SELECT last_seq FROM channels WHERE name = ?",
          useRef(channel), into(lastSeq), now;
      *out = MessageId{epoch_, uint64_t(lastSeq), 0}.toString();
      return Status::OK();
    } catch (const Poco::Exception& e) {
      return sqliteStatus(e, "reading the last id of channel " + channel);
    }
  }

  std::unique_ptr<Subscription> subscribe(const std::string& channel,
                                          LiveCallback cb) override {
    return live_.add(channel, std::move(cb));
  }

  Status health() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("the sqlite backend is closing");
    return lastWrite_;
  }

 private:
  // One queued publish. Lives on the publisher's stack; the writer touches it
  // only under mu_ once it has been taken from the queue, until done is set.
  struct Pending {
    Pending(const std::string* c, const std::string* e, const std::string* d)
        : channel(c), event(e), data(d) {}
    const std::string* const channel;
    const std::string* const event;
    const std::string* const data;
    std::condition_variable cv;
    bool done = false;
    Status status;
    MessagePtr message;
  };

  // What the writer knows of a channel; loaded on first use in this run.
  struct ChannelState {
    Int64 id = 0;
    Int64 lastSeq = 0;         // last issued sequence, committed or in this batch
    Int64 trimmedThrough = 0;  // every seq <= this has been deleted
    bool touched = false;      // in the current batch
  };

  struct Reader {
    std::mutex mu;
    std::unique_ptr<Session> session;
  };

  // Holds one reader connection for the scope of one read.
  class ReaderLease {
   public:
    explicit ReaderLease(SqliteBroker* broker) {
      auto& readers = broker->readers_;
      size_t start = broker->nextReader_.fetch_add(1) % readers.size();
      for (size_t i = 0; i < readers.size() && !reader_; ++i) {
        Reader* r = readers[(start + i) % readers.size()].get();
        if (r->mu.try_lock()) reader_ = r;
      }
      if (!reader_) {
        reader_ = readers[start].get();
        reader_->mu.lock();
      }
    }
    ~ReaderLease() { reader_->mu.unlock(); }
    Reader* operator->() const { return reader_; }

   private:
    Reader* reader_ = nullptr;
  };

  void writerLoop() {
    auto nextMaintenance = std::chrono::steady_clock::now() + kMaintenanceEvery;
    std::vector<Pending*> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (!maintenanceBacklog()) {
          writerCv_.wait_until(lock, nextMaintenance,
                               [&] { return !queue_.empty() || stopping_; });
        }
        if (queue_.empty() && stopping_) return;
        size_t n = std::min(queue_.size(), kMaxBatch);
        batch.assign(queue_.begin(), queue_.begin() + n);
        queue_.erase(queue_.begin(), queue_.begin() + n);
      }
      if (!batch.empty()) commitBatch(batch);
      auto t = std::chrono::steady_clock::now();
      // Publishes come first; maintenance runs when they pause, and at least
      // once per kMaintenanceEvery even when they never do.
      if ((batch.empty() && maintenanceBacklog()) || t >= nextMaintenance) {
        maintain();
        nextMaintenance = t + kMaintenanceEvery;
      }
    }
  }

  bool maintenanceBacklog() const { return ageBacklog_ || !trimBacklog_.empty(); }

  void commitBatch(const std::vector<Pending*>& batch) {
    std::vector<MessagePtr> stored;
    stored.reserve(batch.size());
    Status result;
    try {
      *db_ << "BEGIN IMMEDIATE", now;
      bTs_ = nowMs();
      std::vector<std::pair<const std::string*, ChannelState*>> touched;
      for (Pending* p : batch) {
        ChannelState& ch = channelState(*p->channel);
        if (!ch.touched) {
          ch.touched = true;
          touched.emplace_back(p->channel, &ch);
        }
        auto m = std::make_shared<Message>();
        m->channel = *p->channel;
        m->id = MessageId{epoch_, uint64_t(ch.lastSeq + 1), 0};
        m->idText = m->id.toString();
        m->event = *p->event;
        m->data = *p->data;
        m->tsMs = bTs_;
        bChannel_ = ch.id;
        bSeq_ = ch.lastSeq + 1;
        bEvent_ = m->event;
        // Lend the message's copy to the bound parameter instead of copying
        // a payload of up to rtdemo.send.max-bytes a second time.
        bData_.swap(m->data);
        try {
          insert_.execute();
        } catch (...) {
          bData_.swap(m->data);
          throw;
        }
        bData_.swap(m->data);
        ch.lastSeq += 1;
        stored.push_back(std::move(m));
      }
      for (auto& [name, ch] : touched) {
        ch->touched = false;
        bChannel_ = ch->id;
        bSeq_ = ch->lastSeq;
        updateLast_.execute();
        if (trimCount(ch)) trimBacklog_.insert(*name);
      }
      *db_ << "COMMIT", now;
    } catch (const Poco::Exception& e) {
      rollbackQuietly(*db_);
      // What this run cached may now be ahead of the file; reload on demand.
      channels_.clear();
      stored.clear();
      Status s = sqliteStatus(e, "storing the message");
      result = Status::Unavailable(s.message());
    }
    for (const MessagePtr& m : stored) live_.deliver(m);
    std::lock_guard<std::mutex> lock(mu_);
    lastWrite_ = result;
    for (size_t i = 0; i < batch.size(); ++i) {
      Pending* p = batch[i];
      p->status = result;
      if (result.ok()) p->message = std::move(stored[i]);
      p->done = true;
      p->cv.notify_one();
    }
  }

  // REQUIRES: writer thread, inside a transaction. Throws Poco::Exception.
  ChannelState& channelState(const std::string& name) {
    auto it = channels_.find(name);
    if (it != channels_.end()) return it->second;
    ChannelState st;
    Int64 minSeq = 0;
    Statement lookup =
        (*db_ << "SELECT c.id, c.last_seq, COALESCE((SELECT MIN(seq) FROM "
                 "messages m WHERE m.channel_id = c.id), c.last_seq + 1) FROM "
                 "channels c WHERE c.name = ?",
         useRef(name), into(st.id), into(st.lastSeq), into(minSeq));
    size_t rows = lookup.execute();
    if (rows == 0) {
      *db_ << "INSERT INTO channels(name, last_seq) VALUES(?, 0)", useRef(name), now;
      *db_ << "SELECT last_insert_rowid()", into(st.id), now;
      st.lastSeq = 0;
      minSeq = 1;
    }
    st.trimmedThrough = minSeq - 1;
    return channels_.emplace(name, st).first->second;
  }

  // Deletes at most kTrimBatch rows of `ch` past the count limit. Returns
  // true when more remain. REQUIRES: writer thread, inside a transaction.
  bool trimCount(ChannelState* ch) {
    Int64 floor = ch->lastSeq - static_cast<Int64>(historySize_);
    if (ch->trimmedThrough >= floor) return false;
    bChannel_ = ch->id;
    bFrom_ = ch->trimmedThrough;
    bTo_ = std::min(floor, ch->trimmedThrough + kTrimBatch);
    trimRange_.execute();
    ch->trimmedThrough = bTo_;
    return bTo_ < floor;
  }

  // Deletes at most kTrimBatch of the oldest stored rows past the age limit.
  // Rowid order is store order, so the expired rows are a prefix of it.
  // Returns true when more may remain.
  bool trimAge() {
    Int64 cutoff = nowMs() - maxAgeMs_;
    std::vector<Int64> ids, stamps;
    *db_ << "SELECT id, ts_ms FROM messages ORDER BY id LIMIT ?",
        useRef(kTrimBatch), into(ids), into(stamps), now;
    size_t expired = 0;
    while (expired < ids.size() && stamps[expired] < cutoff) ++expired;
    if (expired == 0) return false;
    Int64 upTo = ids[expired - 1];
    *db_ << "DELETE FROM messages WHERE id <= ?", use(upTo), now;
    return expired == ids.size() && ids.size() == size_t(kTrimBatch);
  }

  void maintain() {
    if (maxAgeMs_ <= 0 && trimBacklog_.empty()) return;
    try {
      *db_ << "BEGIN IMMEDIATE", now;
      ageBacklog_ = maxAgeMs_ > 0 && trimAge();
      size_t n = 0;
      for (auto it = trimBacklog_.begin();
           it != trimBacklog_.end() && n < kTrimChannelsPerStep; ++n) {
        if (trimCount(&channelState(*it))) {
          ++it;
        } else {
          it = trimBacklog_.erase(it);
        }
      }
      *db_ << "COMMIT", now;
    } catch (const Poco::Exception& e) {
      rollbackQuietly(*db_);
      channels_.clear();
      ageBacklog_ = false;
      Poco::Logger::get("rtdemo").warning(
          "sqlite: trimming history failed, will retry: %s",
          sqliteStatus(e, "trimming").message());
    }
  }

  // Constant after construction.
  const size_t historySize_;
  const int64_t maxAgeMs_;
  const std::string epoch_;
  // Closed last: see SqliteFileLock.
  const std::unique_ptr<SqliteFileLock> lock_;

  LiveRegistry live_;  // thread-safe on its own

  // Readers: each guarded by its own mutex (ReaderLease).
  std::vector<std::unique_ptr<Reader>> readers_;
  std::atomic<size_t> nextReader_{0};

  // Writer thread only (set up before it starts). The statements are bound
  // to the b* members by reference: set those, then execute().
  std::unique_ptr<Session> db_;
  Int64 bChannel_ = 0, bSeq_ = 0, bTs_ = 0, bFrom_ = 0, bTo_ = 0;
  std::string bEvent_, bData_;
  Statement insert_;
  Statement updateLast_;
  Statement trimRange_;
  std::unordered_map<std::string, ChannelState> channels_;
  std::unordered_set<std::string> trimBacklog_;  // channels over the count
  bool ageBacklog_ = false;

  std::mutex mu_;
  std::condition_variable writerCv_;
  // Guarded by mu_.
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  Status lastWrite_;  // the last commit's result, for health()

  std::thread writer_;
};

}  // namespace

std::unique_ptr<Broker> openSqliteBroker(const BrokerConfig& config,
                                         Status* status) {
  *status = Status::OK();
  SqliteOpened opened;
  Status s = openSqliteFile(config, &opened);
  if (!s.ok()) {
    *status = s;
    return nullptr;
  }
  const std::string path = opened.path;
  try {
    std::vector<std::unique_ptr<Session>> readers;
    for (size_t i = 0; i < kReaders; ++i)
      readers.push_back(openSqliteReader(path, config.sqliteBusyTimeoutMs));
    auto broker = std::make_unique<SqliteBroker>(config, std::move(opened),
                                                 std::move(readers));
    broker->start();
    return broker;
  } catch (const Poco::Exception& e) {
    *status = sqliteStatus(e, "opening " + path);
    return nullptr;
  }
}

}  // namespace rtdemo
