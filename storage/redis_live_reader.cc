// Implementation of RedisLiveReader (see redis_live_reader.h for the life of
// a cursor and why the handover from history to live delivery has no gap).
#include "storage/redis_live_reader.h"
#include "storage/thread_name.h"

#include <hiredis/hiredis.h>

#include <chrono>
#include <vector>

#include "Poco/Logger.h"
#include "storage/clock.h"

namespace rtdemo {
namespace {

// How long one XREAD blocks. The reader is woken early by the wake stream and
// by interrupt(); this only bounds how long a silently dead connection goes
// unnoticed (the reply timeout is this plus rtdemo.redis.timeout.ms).
constexpr int kBlockMs = 5000;
// Entries per stream per XREAD: large enough for bursts, small enough that
// one reply stays a few megabytes.
constexpr const char* kReadCount = "1000";
// Inactive channels whose cursor is remembered, at most.
constexpr size_t kMaxRemembered = 10000;
// While Redis stays away, repeat the warning this often.
constexpr int64_t kDownLogEveryMs = 60000;

Poco::Logger& logger() { return Poco::Logger::get("rtdemo.redis"); }

}  // namespace

RedisLiveReader::RedisLiveReader(RedisEndpoint endpoint, std::string prefix,
                                 std::string wakeKey, LiveRegistry* live, EpochCell* epoch)
    : endpoint_(std::move(endpoint)),
      prefix_(std::move(prefix)),
      channelPrefix_(prefix_ + "ch:"),
      wakeKey_(std::move(wakeKey)),
      live_(live),
      epoch_(epoch),
      conn_(std::make_unique<RedisConnection>(endpoint_)) {
  conn_->setReplyTimeout(kBlockMs + endpoint_.timeoutMs);
}

RedisLiveReader::~RedisLiveReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  conn_->interrupt();
  if (thread_.joinable()) thread_.join();
}

void RedisLiveReader::start() {
  // The first attempt runs here, before rtdemo accepts connections, so that
  // start-up says at once, and in one line, whether Redis is there.
  connect(conn_.get(), true);
  thread_ = std::thread([this] { run(); });
  nameThread(thread_, "rtdemo-redis");
}

void RedisLiveReader::setActive(const std::string& channel, bool active) {
  std::lock_guard<std::mutex> lock(mu_);
  ChannelState& st = channels_[channel];
  if (active) {
    if (!st.active && st.cursor) --inactive_;
    st.active = true;
    st.awaitingStart = true;
    return;
  }
  st.active = false;
  st.awaitingStart = false;
  if (!st.cursor) {
    channels_.erase(channel);
    return;
  }
  if (++inactive_ > kMaxRemembered) {
    // Forget them all: a forgotten channel restarts from the id that its
    // next subscribe() reads, which is all the contract needs.
    for (auto it = channels_.begin(); it != channels_.end();) {
      it = it->second.active ? std::next(it) : channels_.erase(it);
    }
    inactive_ = 0;
  }
}

bool RedisLiveReader::offerStart(const std::string& channel,
                                 std::optional<StreamId> lastId,
                                 const std::string& lastEpoch) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(channel);
  if (it == channels_.end() || !it->second.active || !it->second.awaitingStart) return false;
  ChannelState& st = it->second;
  st.awaitingStart = false;
  // Never move a cursor back: a subscriber of an earlier activation may still
  // be receiving the batch that was read from it.
  if (lastId && (!st.cursor || *st.cursor < *lastId)) {
    st.cursor = lastId;
    st.cursorEpoch = lastEpoch;
  }
  return true;
}

void RedisLiveReader::run() {
  while (!stop_) {
    if (!conn_->connected()) {
      waitBackoff(*conn_);
      if (stop_) break;
      if (!connect(conn_.get(), false)) continue;
    }
    resolveUnknownCursors(conn_.get());
    if (!conn_->connected()) continue;
    readOnce(conn_.get());
  }
  conn_->drop(false);
  connected_ = false;
}

void RedisLiveReader::waitBackoff(const RedisConnection& conn) {
  int64_t ms = conn.backoffRemainingMs();
  if (ms <= 0) return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
}

bool RedisLiveReader::connect(RedisConnection* conn, bool atStart) {
  Status s = conn->ensure();
  std::string epoch;
  if (s.ok()) s = loadEpoch(conn, prefix_, &epoch);
  if (!s.ok()) {
    if (conn->connected()) conn->drop(true);
    int64_t now = steadyMs();
    if (stop_) return false;
    if (atStart) {
      // The one line start-up writes about it; the reader then retries
      // quietly for kDownLogEveryMs.
      const bool corrupt = s.code() == Status::Code::kCorruption;
      logger().warning("redis at %s %s at start (%s); starting anyway: POST /send "
                       "answers %s and /healthz fails until it is usable, and the "
                       "connection is retried with backoff",
                       conn->address(),
                       std::string(corrupt ? "holds data rtdemo cannot use" : "is unreachable"),
                       s.message(), std::string(corrupt ? "500" : "503"));
      downSinceLogMs_ = now;
    } else if (connected_.exchange(false) || downSinceLogMs_ == 0 ||
               now - downSinceLogMs_ >= kDownLogEveryMs) {
      logger().warning("redis: live reader cannot reach %s: %s; live delivery resumes "
                       "when it is back (retrying with backoff)",
                       conn->address(), s.message());
      downSinceLogMs_ = now;
    }
    return false;
  }
  adoptEpoch(conn, epoch);
  downSinceLogMs_ = 0;
  connected_ = true;
  logger().information("redis: live reader connected to %s", conn->address());
  return true;
}

void RedisLiveReader::adoptEpoch(RedisConnection* conn, const std::string& epoch) {
  epoch_->set(epoch);
  if (epoch == seenEpoch_) return;
  // Wake the other instances' readers still blocked on the old epoch (rule 6).
  announceEpochChange(conn, prefix_, seenEpoch_, epoch);
  seenEpoch_ = epoch;
  nextCursor_ = "0-0";
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = channels_.begin(); it != channels_.end();) {
    ChannelState& st = it->second;
    if (!st.cursor || st.cursorEpoch.empty() || st.cursorEpoch == epoch) {
      ++it;
    } else if (!st.active) {
      it = channels_.erase(it);
      --inactive_;
    } else {
      st.cursor = StreamId{0, 0};
      st.cursorEpoch.clear();
      ++it;
    }
  }
}

void RedisLiveReader::resolveUnknownCursors(RedisConnection* conn) {
  std::vector<std::string> unknown;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [channel, st] : channels_) {
      if (st.active && !st.awaitingStart && !st.cursor) unknown.push_back(channel);
    }
  }
  for (const std::string& channel : unknown) {
    RedisReplyPtr reply;
    Status s = conn->command({"XREVRANGE", channelKey(prefix_, channel), "+", "-", "COUNT", "1"},
                             &reply, Resend::kOnce);
    if (!s.ok()) {
      if (conn->connected()) conn->drop(true);
      return;
    }
    StreamId last;
    std::string lastEpoch;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1) {
      if (MessagePtr m = messageFromEntry(channel, reply->element[0], "")) {
        last = StreamId{m->id.major, m->id.minor};
        lastEpoch = m->id.epoch;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = channels_.find(channel);
    if (it != channels_.end() && it->second.active && !it->second.awaitingStart &&
        !it->second.cursor) {
      it->second.cursor = last;
      it->second.cursorEpoch = lastEpoch;
    }
  }
}

bool RedisLiveReader::readOnce(RedisConnection* conn) {
  // Snapshot what to read. Cursors are remembered so that a batch is only
  // delivered if nobody moved the cursor while we were blocked (rule 4).
  std::vector<std::pair<std::string, StreamId>> reading;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [channel, st] : channels_) {
      if (st.active && !st.awaitingStart && st.cursor) reading.emplace_back(channel, *st.cursor);
    }
  }
  const std::string nextKey = nextEpochKey(prefix_, seenEpoch_);
  std::vector<std::string> argv = {"XREAD", "COUNT", kReadCount, "BLOCK",
                                   std::to_string(kBlockMs), "STREAMS", wakeKey_, nextKey};
  for (const auto& r : reading) argv.push_back(channelPrefix_ + r.first);
  argv.push_back(wakeCursor_);
  argv.push_back(nextCursor_);
  for (const auto& r : reading) argv.push_back(r.second.toString());

  // The epoch rides along in the same round trip, and *after* the XREAD: Redis
  // runs it once the XREAD has its answer, so it tells whether the entries
  // read belong to the epoch our cursors were taken in (rule 6).
  std::vector<RedisReplyPtr> replies;
  Status s = conn->pipeline({argv, {"GET", epochKey(prefix_)}}, &replies);
  if (s.ok()) s = redisStatus(nullptr, replies[0].get(), "redis XREAD");
  std::string epoch;
  if (s.ok()) {
    epoch = replyString(replies[1].get());
    // Missing: Redis was flushed and nobody has published since. The cursors
    // may already be stale, so make the new epoch now (as connect() does).
    if (!isValidEpoch(epoch)) s = loadEpoch(conn, prefix_, &epoch);
  }
  if (!s.ok()) {
    if (stop_) return false;
    if (conn->connected()) conn->drop(true);
    if (connected_.exchange(false)) {
      logger().warning("redis: live reader lost %s: %s; reconnecting with backoff",
                       conn->address(), s.message());
      downSinceLogMs_ = steadyMs();
    }
    return false;
  }
  // Before the batches: cursors of an old epoch restart from 0-0, and the
  // cursor check below then discards what was read from them.
  adoptEpoch(conn, epoch);
  const redisReply* reply = replies[0].get();
  if (reply->type != REDIS_REPLY_ARRAY) return true;  // BLOCK timed out: nil

  std::unordered_map<std::string, StreamId> snapshot(reading.begin(), reading.end());
  std::vector<std::vector<MessagePtr>> batches;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* stream = reply->element[i];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) continue;
    std::string key = replyString(stream->element[0]);
    const redisReply* entries = stream->element[1];
    if (entries->type != REDIS_REPLY_ARRAY || entries->elements == 0) continue;
    if (key == wakeKey_ || key == nextKey) {
      const redisReply* last = entries->element[entries->elements - 1];
      if (last->type == REDIS_REPLY_ARRAY && last->elements == 2)
        (key == wakeKey_ ? wakeCursor_ : nextCursor_) = replyString(last->element[0]);
      continue;
    }
    if (key.compare(0, channelPrefix_.size(), channelPrefix_) != 0) continue;
    std::string channel = key.substr(channelPrefix_.size());
    std::vector<MessagePtr> batch;
    for (size_t j = 0; j < entries->elements; ++j) {
      MessagePtr m = messageFromEntry(channel, entries->element[j], epoch);
      if (m) batch.push_back(std::move(m));
    }
    if (batch.empty()) continue;
    StreamId newCursor{batch.back()->id.major, batch.back()->id.minor};
    std::lock_guard<std::mutex> lock(mu_);
    auto it = channels_.find(channel);
    auto was = snapshot.find(channel);
    if (it == channels_.end() || was == snapshot.end() || !it->second.active ||
        it->second.awaitingStart || !it->second.cursor || *it->second.cursor != was->second) {
      continue;  // dropped or restarted meanwhile: the next read starts afresh
    }
    it->second.cursor = newCursor;
    it->second.cursorEpoch = batch.back()->id.epoch;
    batches.push_back(std::move(batch));
  }
  // Outside mu_: the registry's hook takes mu_ under the registry lock, and
  // deliver() takes the registry lock, so holding mu_ here could deadlock.
  for (const auto& batch : batches) {
    for (const MessagePtr& m : batch) live_->deliver(m);
  }
  return true;
}

}  // namespace rtdemo
