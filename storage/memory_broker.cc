// Implementation of the in-memory backend (see memory_broker.h).
//
// One mutex guards all channels. Publishing is a few pointer moves under it,
// and live delivery happens under it too, which is what keeps live callbacks
// of a channel in id order without a second sequencing step.
//
// The global cap (storage/history_cap.h): every channel knows the cost of
// what it retains, and sits in `lru_`, least recently published first, so a
// publish over the cap evicts from the front of that list. An evicted
// channel's entry is erased and its last sequence folded into seqFloor_,
// where every channel created later starts.
#include "storage/memory_broker.h"

#include <algorithm>
#include <deque>
#include <list>
#include <mutex>
#include <unordered_map>

#include "storage/clock.h"
#include "storage/cursor.h"
#include "storage/history_cap.h"
#include "storage/live_registry.h"
#include "storage/stream_rules.h"

namespace rtdemo {
namespace {

class MemoryBroker : public Broker {
 public:
  explicit MemoryBroker(const BrokerConfig& config)
      : historySize_(config.historySize > 0 ? config.historySize : 1),
        maxAgeMs_(config.historyMaxAgeSeconds * 1000),
        maxBytes_(config.historyMaxBytes),
        maxChannels_(std::max<size_t>(1, config.historyMaxChannels)),
        batchMaxMessages_(config.batchMaxMessages),
        batchMaxBytes_(config.batchMaxBytes),
        epoch_(newEpoch()),
        clock_(config.clock ? config.clock : systemWallClock()) {}

  std::string name() const override { return "memory"; }
  std::string epoch() const override { return epoch_; }

  Status publish(const std::string& channel, const std::string& event,
                 const std::string& data, MessagePtr* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = refuseClosedLocked(channel); !s.ok()) return s;
    Channel& ch = publishedTo(channel);
    *out = storeLocked(channel, &ch, event, data, clock_->nowMs());
    return Status::OK();
  }

  // publishAsync is the base class's: publish() never waits here, so the
  // completion runs inline, on the caller's thread.

  // The whole batch under one hold of mu_: no reader sees part of it, and
  // nothing after the limit check can fail. When the batch alone goes over
  // the global cap, the cap may evict a channel written earlier in it.
  void publishBatchAsync(std::vector<PublishItem> items, BatchDone done) override {
    Status s = checkPublishBatch(items, batchMaxMessages_, batchMaxBytes_);
    std::vector<MessagePtr> stored;
    if (s.ok()) {
      stored.reserve(items.size());
      std::lock_guard<std::mutex> lock(mu_);
      int64_t now = clock_->nowMs();
      // All or nothing: a closed stream anywhere in it refuses the batch.
      for (const PublishItem& item : items) {
        s = refuseClosedLocked(item.channel);
        if (!s.ok()) break;
      }
      for (PublishItem& item : items) {
        if (!s.ok()) break;
        Channel& ch = publishedTo(item.channel);
        stored.push_back(storeLocked(item.channel, &ch, item.event, item.data, now));
      }
    }
    done(s, stored);
  }

  Status readAfter(const std::string& channel, const std::string& cursor,
                   size_t limit, HistoryRead* out) override {
    *out = HistoryRead();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = channels_.find(channel);
    Channel empty;
    empty.lastSeq = seqFloor_;  // unknown: as if evicted (history_cap.h)
    Channel& ch = it == channels_.end() ? empty : it->second;
    trim(&ch, clock_->nowMs());
    uint64_t oldest = ch.history.empty() ? 0 : ch.history.front()->id.major;
    uint64_t after = resolveDenseCursor(cursor, epoch_, oldest, ch.lastSeq, out);
    // Sequences are dense, so the first message after `after` sits at a
    // known offset from the front.
    size_t start = after < oldest ? 0 : static_cast<size_t>(after - oldest + 1);
    if (ch.history.empty()) start = 0;
    for (size_t i = start; i < ch.history.size() && out->messages.size() < limit;
         ++i) {
      out->messages.push_back(ch.history[i]);
    }
    return Status::OK();
  }

  Status lastId(const std::string& channel, std::string* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    *out = tailLocked(channel);
    return Status::OK();
  }

  std::unique_ptr<Subscription> subscribe(const std::string& channel,
                                          LiveCallback cb) override {
    return live_.add(channel, std::move(cb));
  }

  Status createStream(const std::string& channel, const StreamConfig& config,
                      const StreamAppend& initial, StreamResult* out) override {
    *out = StreamResult();
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_->nowMs();
    MemStream* existing = liveStreamLocked(channel, now);
    out->outcome = decideCreate(existing ? &existing->info : nullptr, config);
    if (out->outcome != StreamOutcome::kOk) {
      out->tailId = tailLocked(channel);
      out->closed = existing->info.closed;
      return Status::OK();
    }
    MemStream& st = streams_[channel];
    st.info.config = config;
    st.info.createdMs = st.info.lastAccessMs = now;
    st.info.startId = tailLocked(channel);
    st.info.ownStartId = st.info.startId;
    storeInitialLocked(channel, &st, initial, now, out);
    return Status::OK();
  }

  Status createFork(const std::string& channel, const StreamConfig& config,
                    const ForkSpec& fork, const StreamAppend& initial,
                    StreamResult* out) override {
    *out = StreamResult();
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_->nowMs();
    MemStream* existing = liveStreamLocked(channel, now);
    MemStream* source = liveStreamLocked(fork.source, now);
    StreamInfo sourceInfo;
    if (source != nullptr) {
      sourceInfo = source->info;
      sourceInfo.tailId = tailLocked(fork.source);
    }
    out->outcome = decideFork(existing ? &existing->info : nullptr, config, fork,
                              source ? &sourceInfo : nullptr);
    if (out->outcome != StreamOutcome::kOk) {
      if (existing != nullptr) {
        out->tailId = tailLocked(channel);
        out->closed = existing->info.closed;
      }
      return Status::OK();
    }
    // Node-based: `source` stays valid while streams_ grows.
    MemStream& st = streams_[channel];
    st.info.config = config;
    st.info.createdMs = st.info.lastAccessMs = now;
    st.info.startId = source->info.startId;
    st.info.forkedFrom = fork.source;
    st.info.forkPointId = fork.pointId;
    st.info.forkPointGiven = fork.pointGiven;
    st.info.forkSubOffset = fork.subOffset;
    // The fork's own messages are numbered after the fork point.
    Channel& ch = publishedTo(channel);
    ch.lastSeq = std::max(ch.lastSeq, MessageId::parse(fork.pointId)->major);
    st.info.ownStartId = tailLocked(channel);
    ++source->forks;
    storeInitialLocked(channel, &st, initial, now, out);
    return Status::OK();
  }

  Status appendStream(const std::string& channel, const StreamAppend& append,
                      StreamResult* out) override {
    *out = StreamResult();
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_->nowMs();
    MemStream* st = liveStreamLocked(channel, now);
    if (st == nullptr) {
      out->outcome = StreamOutcome::kNotFound;
      return Status::OK();
    }
    const ProducerState* stored = nullptr;
    if (append.producer) {
      auto p = st->producers.find(append.producer->id);
      if (p != st->producers.end()) stored = &p->second;
    }
    AppendDecision d = decideAppend(st->info, append, stored);
    out->outcome = d.outcome;
    out->producerEpoch = d.reportEpoch;
    out->producerSeq = d.reportSeq;
    if (d.outcome == StreamOutcome::kOk) {
      st->info.lastAccessMs = now;
      if (append.producer) st->producers[append.producer->id] = d.producer;
      if (append.streamSeq) st->info.lastStreamSeq = *append.streamSeq;
      if (!append.messages.empty()) {
        Channel& ch = publishedTo(channel);
        for (const std::string& data : append.messages)
          out->stored.push_back(storeLocked(channel, &ch, append.event, data, now));
      }
      if (append.close) st->info.closed = true;
    }
    out->tailId = tailLocked(channel);
    out->closed = st->info.closed;
    return Status::OK();
  }

  Status streamInfo(const std::string& channel, StreamInfo* out,
                    bool* exists) override {
    std::lock_guard<std::mutex> lock(mu_);
    MemStream* st = liveStreamLocked(channel, clock_->nowMs());
    *exists = st != nullptr;
    if (st != nullptr) {
      *out = st->info;
      out->tailId = tailLocked(channel);
      out->forks = st->forks;
    }
    return Status::OK();
  }

  Status touchStream(const std::string& channel) override {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_->nowMs();
    MemStream* st = liveStreamLocked(channel, now);
    if (st != nullptr && !st->info.softDeleted) st->info.lastAccessMs = now;
    return Status::OK();
  }

  Status deleteStream(const std::string& channel, StreamResult* out) override {
    *out = StreamResult();
    std::lock_guard<std::mutex> lock(mu_);
    MemStream* st = liveStreamLocked(channel, clock_->nowMs());
    if (st == nullptr) {
      out->outcome = StreamOutcome::kNotFound;
      return Status::OK();
    }
    out->tailId = tailLocked(channel);
    if (st->info.softDeleted) {
      out->outcome = StreamOutcome::kGone;
    } else if (st->forks > 0) {
      st->info.softDeleted = true;  // its history stays for the forks
    } else {
      dropStreamLocked(channel);
    }
    return Status::OK();
  }

  Status health() override { return Status::OK(); }

  Status historyStats(HistoryStats* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    out->retainedBytes = retainedBytes_;
    out->channels = channels_.size();
    out->evictedChannels = evictedChannels_;
    out->evictedMessages = evictedMessages_;
    return Status::OK();
  }

 private:
  struct Channel {
    uint64_t lastSeq = 0;  // survives trimming: the gap check needs it
    std::deque<MessagePtr> history;
    uint64_t bytes = 0;  // messageCost() of `history`
    std::list<const std::string*>::iterator lruPos;  // its place in lru_
  };

  // A channel's stream metadata; the messages are the channel's own.
  struct MemStream {
    StreamInfo info;  // tailId and forks are filled in when it is read
    std::unordered_map<std::string, ProducerState> producers;
    int64_t forks = 0;  // live streams with forkedFrom naming this one
  };

  // Stores a create's initial messages and closure in `st`, channel's new
  // stream, and answers. REQUIRES: mu_ held.
  void storeInitialLocked(const std::string& channel, MemStream* st,
                          const StreamAppend& initial, int64_t now, StreamResult* out) {
    if (!initial.messages.empty()) {
      Channel& ch = publishedTo(channel);
      for (const std::string& data : initial.messages)
        out->stored.push_back(storeLocked(channel, &ch, initial.event, data, now));
    }
    st->info.closed = initial.close;
    out->tailId = tailLocked(channel);
    out->closed = st->info.closed;
  }

  // Conflict when `channel` is a closed stream: /send and WebSocket publish
  // may not append to it. REQUIRES: mu_ held.
  Status refuseClosedLocked(const std::string& channel) {
    if (streams_.empty()) return Status::OK();
    MemStream* st = liveStreamLocked(channel, clock_->nowMs());
    if (st != nullptr && st->info.closed && !st->info.softDeleted)
      return Status::Conflict("stream " + channel + " is closed");
    return Status::OK();
  }

  // The channel, created at the floor if history does not know it, and
  // moved to the most recently published end. REQUIRES: mu_ held.
  Channel& publishedTo(const std::string& channel) {
    auto [it, created] = channels_.try_emplace(channel);
    Channel& ch = it->second;
    if (created) {
      ch.lastSeq = seqFloor_;
      ch.lruPos = lru_.insert(lru_.end(), &it->first);
    } else {
      lru_.splice(lru_.end(), lru_, ch.lruPos);
    }
    return ch;
  }

  // Stores one message in `ch` (channel's entry) and delivers it live.
  // REQUIRES: mu_ held.
  MessagePtr storeLocked(const std::string& channel, Channel* ch,
                         const std::string& event, const std::string& data,
                         int64_t now) {
    MessagePtr msg = makeMessage(channel, MessageId{epoch_, ++ch->lastSeq, 0},
                                 event, data, now);
    ch->history.push_back(msg);
    ch->bytes += messageCost(event.size(), data.size());
    retainedBytes_ += messageCost(event.size(), data.size());
    trim(ch, now);
    enforceCap(ch);
    live_.deliver(msg);
    return msg;
  }

  // The channel's newest id (or the floor's). REQUIRES: mu_ held.
  std::string tailLocked(const std::string& channel) const {
    auto it = channels_.find(channel);
    uint64_t last = it == channels_.end() ? seqFloor_ : it->second.lastSeq;
    return MessageId{epoch_, last, 0}.toString();
  }

  // The channel's stream, or nullptr when it has none; an expired one is
  // dropped here (soft-deleted when it has forks), so expiry needs no
  // timer. May answer a soft-deleted stream. REQUIRES: mu_ held.
  MemStream* liveStreamLocked(const std::string& channel, int64_t now) {
    auto it = streams_.find(channel);
    if (it == streams_.end()) return nullptr;
    MemStream& st = it->second;
    if (!st.info.softDeleted && streamExpired(st.info, now)) {
      if (st.forks > 0) {
        st.info.softDeleted = true;
        return &st;
      }
      dropStreamLocked(channel);
      return nullptr;
    }
    return &st;
  }

  // Forgets the stream and its channel's history; the channel's entry (its
  // last sequence) stays, so that ids are never issued twice. A fork's
  // source loses a fork, and goes too when it was soft-deleted and that was
  // its last one (and so on up the chain). REQUIRES: mu_ held.
  void dropStreamLocked(const std::string& channel) {
    std::string source;
    auto st = streams_.find(channel);
    if (st != streams_.end()) {
      source = st->second.info.forkedFrom;
      streams_.erase(st);
    }
    auto it = channels_.find(channel);
    if (it != channels_.end()) {
      Channel& ch = it->second;
      retainedBytes_ -= ch.bytes;
      ch.bytes = 0;
      ch.history.clear();
    }
    if (source.empty()) return;
    auto parent = streams_.find(source);
    if (parent == streams_.end()) return;
    if (--parent->second.forks <= 0) {
      parent->second.forks = 0;
      if (parent->second.info.softDeleted) dropStreamLocked(source);
    }
  }

  // REQUIRES: mu_ held.
  void popFront(Channel* ch) {
    const MessagePtr& m = ch->history.front();
    uint64_t cost = messageCost(m->event.size(), m->data.size());
    ch->bytes -= cost;
    retainedBytes_ -= cost;
    ch->history.pop_front();
  }

  // Age expiry pops from the front only, so what goes is always a prefix in
  // id order: after a clock step back, a message stamped earlier than an
  // older one stays until that one expires, and no reader sees a gap.
  // REQUIRES: mu_ held.
  void trim(Channel* ch, int64_t now) {
    while (ch->history.size() > historySize_) popFront(ch);
    if (maxAgeMs_ <= 0) return;
    while (!ch->history.empty() && ch->history.front()->tsMs < now - maxAgeMs_)
      popFront(ch);
  }

  // After a publish to `current` (now at the back of lru_): evicts the least
  // recently published channels, then `current`'s own oldest messages,
  // while over the cap (history_cap.h). REQUIRES: mu_ held.
  void enforceCap(Channel* current) {
    for (size_t n = 0; n < kMaxEvictionsPerStep && overCap() &&
                       lru_.front() != *current->lruPos;
         ++n) {
      auto victim = channels_.find(*lru_.front());
      Channel& ch = victim->second;
      seqFloor_ = std::max(seqFloor_, ch.lastSeq);
      retainedBytes_ -= ch.bytes;
      evictedMessages_ += ch.history.size();
      ++evictedChannels_;
      lru_.erase(ch.lruPos);
      channels_.erase(victim);
    }
    while (retainedBytes_ > maxBytes_ && current->history.size() > 1) {
      popFront(current);
      ++evictedMessages_;
    }
  }

  bool overCap() const { return retainedBytes_ > maxBytes_ || channels_.size() > maxChannels_; }

  // Constant after construction.
  const size_t historySize_;
  const int64_t maxAgeMs_;
  const uint64_t maxBytes_;
  const size_t maxChannels_;
  const size_t batchMaxMessages_;
  const uint64_t batchMaxBytes_;
  const std::string epoch_;
  const std::shared_ptr<const WallClock> clock_;

  LiveRegistry live_;  // thread-safe on its own

  std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<std::string, Channel> channels_;
  std::unordered_map<std::string, MemStream> streams_;
  // Keys of channels_, least recently published first. Node-based maps keep
  // their keys in place, so the pointers stay valid until the entry goes.
  std::list<const std::string*> lru_;
  uint64_t retainedBytes_ = 0;
  uint64_t seqFloor_ = 0;  // highest sequence an evicted channel issued
  uint64_t evictedChannels_ = 0;
  uint64_t evictedMessages_ = 0;
};

}  // namespace

std::unique_ptr<Broker> newMemoryBroker(const BrokerConfig& config) {
  return std::make_unique<MemoryBroker>(config);
}

}  // namespace rtdemo
