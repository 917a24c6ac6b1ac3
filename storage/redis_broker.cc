// The Redis backend (see redis_broker.h).
//
// Several rtdemo instances share one Redis; nothing about history lives in an
// instance, so a client may resume on any of them.
//
// History. One stream per channel (redis_stream.h has the key layout). The
// stream id is the message id, so every instance names a message the same
// way, and its millisecond part is the store time. Publishing is one Lua
// script (redis_scripts.h) per publish or batch: read the epoch key, XADD
// each entry stamped with that epoch, trim (MAXLEN ~ history.size, cheap,
// and by age), and apply the global cap (storage/history_cap.h). The scripts
// of concurrent publishes are pipelined on one connection by
// RedisPublisher (redis_publisher.h), which calls their completions. Doing the epoch check inside the same
// atomic step as the XADD is why a flushed Redis is noticed by *every*
// instance at its very next publish: no instance can append to a fresh stream
// under an epoch that no longer exists, as it could if it checked the epoch
// only now and then. A missing epoch key (FLUSHALL, a new Redis) makes the
// script fail with NOEPOCH; the publisher then creates a new epoch with
// SET NX (so concurrent publishers agree on one) and retries.
//
// Reading history. Another script returns, in one atomic step, the epoch, the
// stream's last-generated-id, its first entry, whether anything was ever
// trimmed (entries-added > length), and the entries after the cursor; it
// also trims exactly to history.size first, so that what a client sees as
// retained does not depend on how approximate the last XADD trim was. Stream
// ids are not dense, so the reset rules differ from memory/SQLite:
//   - another epoch: reset;
//   - something was trimmed and the cursor lies before the first retained
//     entry (before last-generated-id when none is left): entries after it
//     may be gone, so replaying from it could leave a gap: reset. Redis 7.0
//     does not record the id of the last *trimmed* entry (its
//     max-deleted-entry-id only follows XDEL, which is checked too), so a
//     cursor that is exactly the last trimmed entry gets a reset it did not
//     strictly need; it is then sent the same messages, with the notice;
//   - a cursor above last-generated-id: never issued (or lost by a Redis that
//     restarted without fsync): reset;
//   - no stream: the channel is unknown or was evicted by the global cap; a
//     cursor below the eviction floor gets a reset, the floor itself (what
//     lastId() answers) does not;
//   - an empty cursor: everything retained, no reset.
// The checks and the read happen in one script, so a trim cannot slip
// between them.
//
// Durable Streams (create, append with producers, info, touch, delete) are
// RedisStreams' job (redis_streams.h): one script per operation.
//
// Live delivery is RedisLiveReader's job (redis_live_reader.h explains why a
// subscriber misses nothing published after subscribe() returns, and why a
// Redis restart leaves no gap).
//
// Faults. Every command goes through RedisConnection, which drops a broken
// context and reconnects with backoff; while Redis is away publish(),
// readAfter(), lastId() and health() return Unavailable quickly, and the
// service answers 503. A key of ours holding what rtdemo never writes (a
// foreign epoch value, a wrong type) is Corruption, found by the scripts
// before they write anything, so Redis is left as it was; the service
// answers 500 naming the key. Start-up logs one line for either case (the
// live reader's first connection). Nothing here throws.
//
// Threading: all methods are thread-safe. Reads use a small pool of
// connections, each used by one thread at a time; the publisher and the
// live reader each have their own connection and thread.
#include "storage/redis_broker.h"

#include <hiredis/hiredis.h>

#include <atomic>
#include <optional>

#include "Poco/Logger.h"
#include "storage/cursor.h"
#include "storage/live_registry.h"
#include "storage/redis_connection.h"
#include "storage/history_cap.h"
#include "storage/redis_live_reader.h"
#include "storage/redis_publisher.h"
#include "storage/redis_scripts.h"
#include "storage/redis_stream.h"
#include "storage/redis_streams.h"

namespace rtdemo {
namespace {

// Connections for history reads. Each is held for one round
// trip, so a few serve many HTTP threads; more would mostly add contention
// on the two cores Redis and rtdemo usually share.
constexpr size_t kPoolSize = 8;
// The wake stream of a crashed instance disappears on its own after this.
constexpr const char* kWakeTtlSeconds = "86400";

// The outcome of kReadScript.
struct StreamRead {
  std::string epoch;
  std::optional<StreamId> last;  // nullopt: no stream
  StreamId maxDeleted;
  std::optional<StreamId> first;  // first retained entry; nullopt: none
  bool trimmed = false;           // entries were ever trimmed away
  StreamId floor;                 // the eviction floor (history_cap.h)
  RedisReplyPtr reply;  // owns `entries`
  const redisReply* entries = nullptr;
};

class RedisBroker : public Broker {
 public:
  explicit RedisBroker(const BrokerConfig& config)
      : prefix_(config.redisPrefix),
        maxLen_(std::to_string(config.historySize > 0 ? config.historySize : 1)),
        maxAgeMs_(std::to_string(config.historyMaxAgeSeconds > 0
                                     ? config.historyMaxAgeSeconds * 1000
                                     : 0)),
        wakeKey_(wakeKey(prefix_, newEpoch())),
        maxBytes_(std::to_string(config.historyMaxBytes)),
        maxChannels_(std::to_string(config.historyMaxChannels)),
        batchMaxMessages_(config.batchMaxMessages),
        batchMaxBytes_(config.batchMaxBytes),
        readSha_(redisScriptSha(kRedisReadScript)),
        pool_(endpointOf(config), kPoolSize),
        publisher_(endpointOf(config), prefix_,
                   {maxLen_, maxAgeMs_, maxBytes_, maxChannels_, prefix_,
                    std::to_string(kMaxEvictionsPerStep)},
                   [this](RedisConnection* conn, const std::string& epoch) {
                     noteEpoch(conn, epoch);
                   }),
        streams_(&pool_, prefix_,
                 {maxLen_, maxAgeMs_, maxBytes_, maxChannels_, prefix_,
                  std::to_string(kMaxEvictionsPerStep)},
                 config.clock,
                 [this](RedisConnection* conn, const std::string& epoch) {
                   noteEpoch(conn, epoch);
                 }),
        live_([this](const std::string& channel, bool active) {
          reader_->setActive(channel, active);
        }),
        reader_(std::make_unique<RedisLiveReader>(endpointOf(config), prefix_, wakeKey_,
                                                  &live_, &epoch_)) {}

  ~RedisBroker() override {
    reader_.reset();
    // Best effort: a crashed instance's wake stream expires by itself.
    auto conn = pool_.acquire();
    if (conn->connected()) {
      RedisReplyPtr reply;
      conn->command({"DEL", wakeKey_}, &reply, Resend::kOnce);
    }
  }

  // The reader's first connection, made before start() returns, says in
  // the log whether Redis is there, and loads the epoch.
  void start() { reader_->start(); }

  std::string name() const override { return "redis"; }

  std::string epoch() const override {
    std::string e = epoch_.get();
    // Before Redis was ever reached there is no epoch; "0" is a valid token
    // that no Redis epoch equals, so any cursor built on it gets a reset.
    return e.empty() ? "0" : e;
  }

  Status publish(const std::string& channel, const std::string& event,
                 const std::string& data, MessagePtr* out) override {
    return publishAndWait(channel, event, data, out);
  }

  void publishAsync(std::string channel, std::string event, std::string data,
                    PublishDone done) override {
    std::vector<PublishItem> items;
    items.push_back(PublishItem{std::move(channel), std::move(event), std::move(data)});
    publisher_.submit(std::move(items),
                      [done = std::move(done)](const Status& s, const std::vector<MessagePtr>& m) {
                        done(s, s.ok() ? m.front() : nullptr);
                      });
  }

  void publishBatchAsync(std::vector<PublishItem> items, BatchDone done) override {
    Status s = checkPublishBatch(items, batchMaxMessages_, batchMaxBytes_);
    if (!s.ok()) {
      done(s, {});
      return;
    }
    publisher_.submit(std::move(items), std::move(done));
  }

  Status readAfter(const std::string& channel, const std::string& cursor, size_t limit,
                   HistoryRead* out) override {
    *out = HistoryRead();
    auto conn = pool_.acquire();
    // Guess the start from the epoch we know; the script's answer decides,
    // and a wrong guess (a reset) costs one more read.
    std::string start = "-";
    CursorCheck guess = checkCursor(cursor, epoch_.get());
    if (guess.sameEpoch && !guess.fromStart)
      start = "(" + StreamId{guess.id.major, guess.id.minor}.toString();
    StreamRead r;
    Status s = readStream(&*conn, channel, start, limit, &r);
    if (!s.ok()) return s;

    CursorCheck check = checkCursor(cursor, r.epoch);
    std::string reason = check.reason;
    if (check.sameEpoch && !check.fromStart) {
      StreamId c{check.id.major, check.id.minor};
      if (!r.last && c < r.floor) {
        // No stream: this channel's history was evicted (history_cap.h).
        reason = "messages after this id were trimmed from history";
      } else if (!r.last ? c != r.floor : *r.last < c) {
        reason = "id was never issued by this history";
      } else if (c < r.maxDeleted || (r.trimmed && c < r.first.value_or(*r.last))) {
        reason = "messages after this id were trimmed from history";
      } else if (start != "(" + c.toString()) {
        start = "(" + c.toString();
        s = readStream(&*conn, channel, start, limit, &r);
        if (!s.ok()) return s;
      }
    }
    if (!reason.empty()) {
      out->reset = true;
      out->resetReason = reason;
      if (start != "-") {
        s = readStream(&*conn, channel, "-", limit, &r);
        if (!s.ok()) return s;
      }
      if (r.first) out->oldest = MessageId{r.epoch, r.first->ms, r.first->seq}.toString();
    }
    for (size_t i = 0; r.entries && i < r.entries->elements; ++i) {
      MessagePtr m = messageFromEntry(channel, r.entries->element[i], r.epoch);
      if (m) out->messages.push_back(std::move(m));
    }
    return Status::OK();
  }

  Status lastId(const std::string& channel, std::string* out) override {
    auto conn = pool_.acquire();
    StreamRead r;
    Status s = readStream(&*conn, channel, "-", 0, &r);
    if (!s.ok()) return s;
    // No stream: the floor, above which a new stream starts (history_cap.h).
    StreamId last = r.last.value_or(r.floor);
    *out = MessageId{r.epoch, last.ms, last.seq}.toString();
    return Status::OK();
  }

  std::unique_ptr<Subscription> subscribe(const std::string& channel,
                                          LiveCallback cb) override {
    // Read the stream's last id *before* registering (see rule 2 in
    // redis_live_reader.h): the reader starts after it, and any message
    // published once subscribe() has returned has a greater id.
    std::optional<StreamId> last;
    std::string lastEpoch;
    {
      auto conn = pool_.acquire();
      RedisReplyPtr reply;
      Status s = conn->command(
          {"XREVRANGE", channelKey(prefix_, channel), "+", "-", "COUNT", "1"}, &reply,
          Resend::kOnce);
      if (s.ok() && reply->type == REDIS_REPLY_ARRAY) {
        last = StreamId{};
        if (reply->elements == 1) {
          if (MessagePtr m = messageFromEntry(channel, reply->element[0], "")) {
            last = StreamId{m->id.major, m->id.minor};
            lastEpoch = m->id.epoch;
          }
        }
      }
    }
    std::unique_ptr<Subscription> sub = live_.add(channel, std::move(cb));
    if (reader_->offerStart(channel, last, lastEpoch)) wakeReader();
    return sub;
  }

  // Durable Streams: one script each (redis_streams.h).
  Status createStream(const std::string& channel, const StreamConfig& config,
                      const StreamAppend& initial, StreamResult* out) override {
    return streams_.create(channel, config, initial, out);
  }
  Status appendStream(const std::string& channel, const StreamAppend& append,
                      StreamResult* out) override {
    return streams_.append(channel, append, out);
  }
  Status streamInfo(const std::string& channel, StreamInfo* out, bool* exists) override {
    return streams_.info(channel, out, exists);
  }
  Status touchStream(const std::string& channel) override { return streams_.touch(channel); }
  Status deleteStream(const std::string& channel, StreamResult* out) override {
    return streams_.remove(channel, out);
  }

  // Redis answers, and its epoch key is one rtdemo can publish under
  // (missing is fine: the next publish creates it).
  Status health() override {
    auto conn = pool_.acquire();
    RedisReplyPtr reply;
    Status s = conn->command({"GET", epochKey(prefix_)}, &reply, Resend::kOnce);
    if (!s.ok() || replyIsNil(reply.get())) return s;
    std::string epoch = replyString(reply.get());
    if (!isValidEpoch(epoch))
      return Status::Corruption("redis key " + epochKey(prefix_) + " is not an rtdemo epoch");
    return s;
  }

  Status historyStats(HistoryStats* out) override {
    *out = HistoryStats();
    out->evictedChannels = publisher_.evictedChannels();
    out->evictedMessages = publisher_.evictedMessages();
    auto conn = pool_.acquire();
    std::vector<RedisReplyPtr> replies;
    Status s = conn->pipeline({{"GET", bytesKey(prefix_)}, {"ZCARD", channelsKey(prefix_)}},
                              &replies, Resend::kOnce);
    for (size_t i = 0; s.ok() && i < replies.size(); ++i)
      s = redisStatus(nullptr, replies[i].get(), "redis history statistics");
    if (!s.ok()) return s;
    long long bytes = std::atoll(replyString(replies[0].get()).c_str());
    out->retainedBytes = static_cast<uint64_t>(std::max(0LL, bytes));
    out->channels = static_cast<uint64_t>(std::max(0LL, replies[1]->integer));
    return Status::OK();
  }

 private:
  static RedisEndpoint endpointOf(const BrokerConfig& c) {
    RedisEndpoint e;
    e.host = c.redisHost;
    e.port = c.redisPort;
    e.password = c.redisPassword;
    e.db = c.redisDb;
    e.timeoutMs = c.redisTimeoutMs;
    return e;
  }

  // Runs one of our scripts against `channel`'s stream (redis_stream.h).
  Status runScript(RedisConnection* conn, const std::string& script, const std::string& sha,
                   const std::string& channel, std::vector<std::string> args, Resend resend,
                   RedisReplyPtr* reply) {
    return runRedisScript(conn, prefix_, script, sha,
                          {epochKey(prefix_), channelKey(prefix_, channel), channelsKey(prefix_),
                           bytesKey(prefix_), costKey(prefix_, channel), floorKey(prefix_)},
                          args, resend,
                          [this](RedisConnection* c, const std::string& e) { noteEpoch(c, e); },
                          reply);
  }

  Status readStream(RedisConnection* conn, const std::string& channel,
                    const std::string& start, size_t limit, StreamRead* out) {
    *out = StreamRead();
    // Safe to resend: it only reads, and trims what is already due.
    Status s = runScript(conn, kRedisReadScript, readSha_, channel,
                         {maxLen_, maxAgeMs_, start, std::to_string(limit)}, Resend::kOnce,
                         &out->reply);
    if (!s.ok()) return s;
    const redisReply* r = out->reply.get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7)
      return Status::Corruption("redis history read: unexpected reply");
    out->epoch = replyString(r->element[0]);
    if (!isValidEpoch(out->epoch)) return Status::Corruption("redis history read: bad epoch");
    noteEpoch(conn, out->epoch);
    std::string last = replyString(r->element[1]);
    if (!last.empty()) out->last = StreamId::parse(last);
    out->maxDeleted = StreamId::parse(replyString(r->element[2])).value_or(StreamId{});
    std::string first = replyString(r->element[3]);
    if (!first.empty()) out->first = StreamId::parse(first);
    out->entries = r->element[4];
    out->trimmed = r->element[5]->integer != 0;
    out->floor = StreamId::parse(replyString(r->element[6])).value_or(StreamId{});
    return Status::OK();
  }

  // Records the epoch a command saw; the first path of this instance to see
  // a new one wakes every reader still blocked on the old one.
  void noteEpoch(RedisConnection* conn, const std::string& epoch) {
    announceEpochChange(conn, prefix_, epoch_.set(epoch), epoch);
  }

  void wakeReader() {
    // Ids from a counter, not "*": a stream recreated after a flush in the
    // same millisecond (or under a clock stepped back) would otherwise get
    // an id at or below the reader's cursor, and the reader would not wake.
    // Two wakes racing may arrive out of order; the lower one then fails,
    // harmlessly, because the higher one already woke the reader.
    const std::string id = "0-" + std::to_string(++wakeSeq_);
    auto conn = pool_.acquire();
    std::vector<RedisReplyPtr> replies;
    // If this fails Redis is away, and the reader is not blocked in it: it
    // will see the new channel when it reconnects.
    conn->pipeline({{"XADD", wakeKey_, "MAXLEN", "1", id, "w", "1"},
                    {"EXPIRE", wakeKey_, kWakeTtlSeconds}},
                   &replies, Resend::kOnce);
  }

  // Constant after construction.
  const std::string prefix_;
  const std::string maxLen_;
  const std::string maxAgeMs_;
  const std::string wakeKey_;
  const std::string maxBytes_;
  const std::string maxChannels_;
  const size_t batchMaxMessages_;
  const uint64_t batchMaxBytes_;
  const std::string readSha_;

  std::atomic<uint64_t> wakeSeq_{0};
  RedisPool pool_;  // thread-safe
  EpochCell epoch_;  // thread-safe
  // Thread-safe; its thread calls noteEpoch(), so it comes after epoch_
  // and is destroyed, completing what it holds, before it.
  RedisPublisher publisher_;
  RedisStreams streams_;  // thread-safe; uses pool_ and noteEpoch()
  LiveRegistry live_;  // thread-safe; its hook calls reader_
  // Declared last so it is destroyed first: its thread delivers into live_.
  std::unique_ptr<RedisLiveReader> reader_;
};

}  // namespace

std::unique_ptr<Broker> openRedisBroker(const BrokerConfig& config, Status* status) {
  *status = Status::OK();
  if (config.redisHost.empty()) {
    *status = Status::InvalidArgument("rtdemo.redis.host is empty");
    return nullptr;
  }
  auto broker = std::make_unique<RedisBroker>(config);
  broker->start();
  return broker;
}

}  // namespace rtdemo
