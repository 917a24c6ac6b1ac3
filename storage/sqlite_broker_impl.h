// SqliteBroker, the SQLite backend behind openSqliteBroker() (sqlite_broker.h).
// Private to storage/: its methods are defined in sqlite_broker.cc (the
// public operations, inline here) and sqlite_writer.cc (the writer thread:
// group commit, stream operations, trimming).
//
// The life of a publish:
//   1. publishAsync() (or publishBatchAsync(), a Pending of several
//      messages) moves the message and its completion into a Pending on the
//      queue and returns. No thread waits per publisher: the synchronous
//      publish() is the base class's wait on that completion.
//   2. The writer thread takes everything queued (up to kMaxBatch messages)
//      and stores it in ONE transaction: sequences are assigned here, in
//      queue order, so ids of a channel strictly increase. This is group
//      commit: while one transaction is syncing, the next publishes queue up
//      and share the next one, so a group is as large as the arrival rate
//      makes it, not bounded by how many threads wait.
//   3. After COMMIT succeeded (synced as rtdemo.sqlite.synchronous says),
//      and only then, the writer hands the messages to live subscribers
//      (LiveRegistry, in id order per channel) and calls the completions,
//      in queue order, on this thread. Live delivery needs no polling of
//      the database: it comes straight from this path.
//   4. If anything in the transaction fails (disk full, I/O error, a lock
//      held by another process past the busy timeout), it is rolled back and
//      every completion of the group gets Unavailable: nothing of the group
//      was stored (so a batch is all or nothing), and what was acknowledged
//      before stays.
//
// Retention: reads filter by count (seq > last_seq - history.size) and age
// (from the first row stamped inside max-age; sqlite_reader.h says why age is
// a prefix) themselves, so deleting rows can lag without a client ever
// seeing a message past retention. Every deletion removes a prefix of each
// channel (count: the lowest seqs; age: a prefix of store order), so what is
// left of a channel is always one unbroken run of seqs. Deletion happens on the writer
// thread in steps of at most kTrimBatch rows per channel: inline for the
// channels a batch touched, and in a maintenance step when the queue is idle
// (and at least every kMaintenanceMs) for age and for channels with a
// backlog. No step holds the write transaction for long.
//
// The writer's index of channels, per-channel trimming and the global cap
// (storage/history_cap.h) live in SqliteChannels (sqlite_channels.h): cap
// evictions happen inside the transaction of the publish that went over, so
// a batch commits with history back under the cap.
//
// Reads (readAfter, lastId) go to SqliteReaders (sqlite_reader.h): a small
// pool of read-only connections that WAL lets run while the writer commits.
//
// Thread-safety: every public method may be called from any thread. Members
// are grouped below by who may touch them.
#pragma once

#include "storage/sqlite_broker.h"
#include "storage/thread_name.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "Poco/Data/Session.h"
#include "Poco/Data/Statement.h"
#include "Poco/Logger.h"
#include "storage/clock.h"
#include "storage/history_cap.h"
#include "storage/live_registry.h"
#include "storage/sqlite_channels.h"
#include "storage/sqlite_reader.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_status.h"
#include "storage/sqlite_streams.h"
#include "storage/stream_rules.h"

namespace rtdemo {
namespace sqlite_detail {

using Poco::Int64;
using Poco::Data::Session;
using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;
using Poco::Data::Keywords::useRef;

// Messages per transaction; a larger publishBatch still goes in one.
constexpr size_t kMaxBatch = 1024;
constexpr size_t kTrimChannelsPerStep = 8;
constexpr auto kMaintenanceEvery = std::chrono::milliseconds(1000);
constexpr size_t kReaders = 4;

class SqliteBroker : public Broker {
 public:
  SqliteBroker(const BrokerConfig& config, SqliteOpened opened,
               std::vector<std::unique_ptr<Session>> readers)
      : maxAgeMs_(config.historyMaxAgeSeconds * 1000),
        batchMaxMessages_(config.batchMaxMessages),
        batchMaxBytes_(config.batchMaxBytes),
        epoch_(opened.epoch),
        clock_(config.clock ? config.clock : systemWallClock()),
        lock_(std::move(opened.lock)),
        readers_(std::move(readers), opened.epoch, config.historySize,
                 config.historyMaxAgeSeconds * 1000, clock_),
        db_(std::move(opened.writer)),
        // Data as a BLOB: SQLite knows a blob's length from the record
        // header, so measuring rows for the cap never reads their payload.
        insert_((*db_ << "INSERT INTO messages(channel_id, seq, ts_ms, event, "
                         "data) VALUES(?, ?, ?, ?, CAST(? AS BLOB))",
                 use(bChannel_), use(bSeq_), use(bTs_), use(bEvent_),
                 use(bData_))),
        updateLast_((*db_ << "UPDATE channels SET last_seq = ? WHERE id = ?",
                     use(bSeq_), use(bChannel_))),
        channels_(db_.get(), config.historySize, config.historyMaxBytes,
                  config.historyMaxChannels),
        streams_(db_.get(), &channels_, epoch_,
                 [this](ChannelState* ch, const std::string& channel,
                        const std::string& event, const std::string& data) {
                   return storeRow(ch, channel, event, data);
                 }) {}

  ~SqliteBroker() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    writerCv_.notify_one();
    if (writer_.joinable()) writer_.join();
  }

  // Loads the channel index, which finds channels left over the count limit
  // or the cap (either lowered since the last run), then starts the writer.
  // Throws Poco::Exception.
  void start() {
    *db_ << "BEGIN", now;  // one snapshot
    std::vector<std::string> over;
    try {
      over = channels_.ensureLoaded();
      *db_ << "COMMIT", now;
    } catch (...) {
      rollbackQuietly(*db_);
      throw;
    }
    trimBacklog_.insert(over.begin(), over.end());
    capBacklog_ = channels_.overCap();  // the cap was lowered since the last run
    std::vector<std::string> closed;
    *db_ << "SELECT name FROM streams WHERE closed = 1", into(closed), now;
    maybeClosed_.insert(closed.begin(), closed.end());
    publishStats();
    writer_ = std::thread([this] { writerLoop(); });
    nameThread(writer_, "rtdemo-sqlite");
  }

  std::string name() const override { return "sqlite"; }
  std::string epoch() const override { return epoch_; }

  Status publish(const std::string& channel, const std::string& event,
                 const std::string& data, MessagePtr* out) override {
    return publishAndWait(channel, event, data, out);
  }

  void publishAsync(std::string channel, std::string event, std::string data,
                    PublishDone done) override {
    Pending p;
    p.items.push_back(
        PublishItem{std::move(channel), std::move(event), std::move(data)});
    p.one = std::move(done);
    enqueue(std::move(p));
  }

  void publishBatchAsync(std::vector<PublishItem> items,
                         BatchDone done) override {
    Status s = checkPublishBatch(items, batchMaxMessages_, batchMaxBytes_);
    if (!s.ok()) {
      done(s, {});
      return;
    }
    Pending p;
    p.items = std::move(items);
    p.many = std::move(done);
    enqueue(std::move(p));
  }

  Status readAfter(const std::string& channel, const std::string& cursor,
                   size_t limit, HistoryRead* out) override {
    return readers_.readAfter(channel, cursor, limit, out);
  }

  Status lastId(const std::string& channel, std::string* out) override {
    return readers_.lastId(channel, out);
  }

  std::unique_ptr<Subscription> subscribe(const std::string& channel,
                                          LiveCallback cb) override {
    return live_.add(channel, std::move(cb));
  }

  // Stream operations queue like publishes and run in the writer's
  // transaction (sqlite_streams.h), so they share its group commit.
  Status createStream(const std::string& channel, const StreamConfig& config,
                      const StreamAppend& initial, StreamResult* out) override {
    StreamOp op{StreamOp::kCreate, &config, &initial, out, nullptr};
    return runStreamOp(channel, &op);
  }

  Status createFork(const std::string& channel, const StreamConfig& config,
                    const ForkSpec& fork, const StreamAppend& initial,
                    StreamResult* out) override {
    StreamOp op{StreamOp::kFork, &config, &initial, out, &fork};
    return runStreamOp(channel, &op);
  }

  Status appendStream(const std::string& channel, const StreamAppend& append,
                      StreamResult* out) override {
    StreamOp op{StreamOp::kAppend, nullptr, &append, out, nullptr};
    return runStreamOp(channel, &op);
  }

  Status deleteStream(const std::string& channel, StreamResult* out) override {
    StreamOp op{StreamOp::kDelete, nullptr, nullptr, out, nullptr};
    return runStreamOp(channel, &op);
  }

  Status streamInfo(const std::string& channel, StreamInfo* out,
                    bool* exists) override {
    Status s = readers_.streamInfo(channel, out, exists);
    if (!s.ok() || !*exists) return s;
    out->lastAccessMs = std::max(out->lastAccessMs, touchedMs(channel));
    // An expired stream is gone (soft-deleted, while it has forks); the
    // writer drops or marks its rows at its next operation on it.
    if (!out->softDeleted && streamExpired(*out, clock_->nowMs())) {
      if (out->forks > 0) {
        out->softDeleted = true;
      } else {
        *exists = false;
      }
    }
    return s;
  }

  // A read restarts the TTL in memory only (docs/durable-streams.md, "TTL").
  Status touchStream(const std::string& channel) override {
    std::lock_guard<std::mutex> lock(touchMu_);
    readAtMs_[channel] = clock_->nowMs();
    return Status::OK();
  }

  Status health() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("the sqlite backend is closing");
    return lastWrite_;
  }

  Status historyStats(HistoryStats* out) override {
    out->retainedBytes = statBytes_.load(std::memory_order_relaxed);
    out->channels = statChannels_.load(std::memory_order_relaxed);
    out->evictedChannels = statEvictedChannels_.load(std::memory_order_relaxed);
    out->evictedMessages = statEvictedMessages_.load(std::memory_order_relaxed);
    return Status::OK();
  }

 private:
  // A stream operation riding on a Pending; what it points at lives on the
  // stack of its caller, which waits for it (runStreamOp).
  struct StreamOp {
    enum Kind { kCreate, kFork, kAppend, kDelete } kind;
    const StreamConfig* config;   // kCreate, kFork
    const StreamAppend* request;  // kCreate and kFork (initial), kAppend
    StreamResult* result;         // written by the writer before done
    const ForkSpec* fork;         // kFork
  };

  // One queued publish: its messages (moved in, so the caller may go away)
  // and its completion; exactly one of `one` and `many` is set. A stream
  // operation has `op`, its channel as the one item's, and `many`. Owned by
  // the queue, then by the writer thread until it completes.
  struct Pending {
    std::vector<PublishItem> items;
    PublishDone one;
    BatchDone many;
    StreamOp* op = nullptr;
  };

  // Calls p's completion; `begin` is where its messages start in what the
  // group stored (unused unless ok). Writer thread, or the caller's when
  // it is refused up front.
  static void complete(Pending* p, const Status& s,
                       std::vector<MessagePtr>::const_iterator begin) {
    if (p->one) {
      p->one(s, s.ok() ? *begin : nullptr);
    } else if (s.ok() && p->op == nullptr) {
      p->many(s, std::vector<MessagePtr>(begin, begin + p->items.size()));
    } else {
      p->many(s, {});
    }
  }

  void enqueue(Pending p) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(p));
        // A busy writer looks at the queue again before it sleeps.
        if (writerIdle_) writerCv_.notify_one();
        return;
      }
    }
    static const std::vector<MessagePtr> kNone;
    complete(&p, Status::Unavailable("the sqlite backend is closing"),
             kNone.begin());
  }

  using ChannelState = SqliteChannels::Channel;

  // Writer thread: what historyStats() reads, after each commit or reload.
  void publishStats() {
    statBytes_.store(channels_.retainedBytes(), std::memory_order_relaxed);
    statChannels_.store(channels_.channelCount(), std::memory_order_relaxed);
    statEvictedChannels_.store(channels_.evictedChannels(), std::memory_order_relaxed);
    statEvictedMessages_.store(channels_.evictedMessages(), std::memory_order_relaxed);
  }

  void writerLoop();

  bool maintenanceBacklog() const {
    return ageBacklog_ || capBacklog_ || !trimBacklog_.empty();
  }

  void commitBatch(std::vector<Pending>& batch);

  // Inserts one message row of `ch` in the open transaction and returns the
  // message; the channel's last_seq is written once per batch, after all
  // its rows. Writer thread only; throws Poco::Exception.
  MessagePtr storeRow(ChannelState* ch, std::string channel, std::string event,
                      std::string data);

  // Queues a stream operation and waits for the commit that holds it.
  Status runStreamOp(const std::string& channel, StreamOp* op) {
    *op->result = StreamResult();
    // Shared, so the writer never touches a promise its waiter destroyed.
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> answer = done->get_future();
    Pending p;
    p.items.push_back(PublishItem{channel, "", ""});
    p.op = op;
    p.many = [done](const Status& s, const std::vector<MessagePtr>&) {
      done->set_value(s);
    };
    enqueue(std::move(p));
    Status s = answer.get();
    if (!s.ok()) *op->result = StreamResult();
    return s;
  }

  // Writer thread, inside the batch's transaction. What it stores goes to
  // batchStored_, for live delivery after the COMMIT.
  void runStreamOpLocked(const std::string& channel, StreamOp* op);

  // Writer thread, in the batch's transaction: Conflict when a publish
  // names a closed stream (maybeClosed_), else OK.
  Status refuseClosed(const Pending& p);

  int64_t touchedMs(const std::string& channel) {
    std::lock_guard<std::mutex> lock(touchMu_);
    auto it = readAtMs_.find(channel);
    return it == readAtMs_.end() ? 0 : it->second;
  }

  void maintain();

  // Constant after construction.
  const int64_t maxAgeMs_;
  const size_t batchMaxMessages_;
  const uint64_t batchMaxBytes_;
  const std::string epoch_;
  const std::shared_ptr<const WallClock> clock_;
  // Closed last: see SqliteFileLock.
  const std::unique_ptr<SqliteFileLock> lock_;

  LiveRegistry live_;  // thread-safe on its own

  SqliteReaders readers_;  // thread-safe on its own

  // Writer thread only (set up before it starts). The statements are bound
  // to the b* members by reference: set those, then execute().
  std::unique_ptr<Session> db_;
  Int64 bChannel_ = 0, bSeq_ = 0, bTs_ = 0;
  std::string bEvent_, bData_;
  Statement insert_;
  Statement updateLast_;
  SqliteChannels channels_;
  SqliteStreamWriter streams_;
  std::vector<ChannelState*> batchTouched_;  // written in the current batch
  std::vector<MessagePtr> batchStored_;  // what the last stream op stored
  // Channels that may be closed streams (loaded at start, added to by every
  // close): a publish to one is checked in its transaction, and refused
  // (Conflict) when the stream is closed. A hint only, so a rolled-back
  // close left in it costs one check, never a refusal.
  std::unordered_set<std::string> maybeClosed_;
  std::unordered_set<std::string> trimBacklog_;  // channels over the count
  bool ageBacklog_ = false;
  bool capBacklog_ = false;  // over the cap after the last step allowed

  // Written by the writer thread, read by historyStats().
  std::atomic<uint64_t> statBytes_{0}, statChannels_{0}, statEvictedChannels_{0},
      statEvictedMessages_{0};

  // The last read of each stream (touchStream()), for the TTL; kept in
  // memory only. Guarded by touchMu_.
  std::mutex touchMu_;
  std::unordered_map<std::string, int64_t> readAtMs_;

  std::mutex mu_;
  std::condition_variable writerCv_;
  // Guarded by mu_.
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool writerIdle_ = false;  // the writer sleeps on writerCv_
  Status lastWrite_;         // the last commit's result, for health()

  std::thread writer_;
};

}  // namespace sqlite_detail
}  // namespace rtdemo
