// Implementation of the in-memory backend (see memory_broker.h).
//
// One mutex guards all channels. Publishing is a few pointer moves under it,
// and live delivery happens under it too, which is what keeps live callbacks
// of a channel in id order without a second sequencing step.
#include "storage/memory_broker.h"

#include <chrono>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "storage/clock.h"
#include "storage/cursor.h"
#include "storage/live_registry.h"

namespace rtdemo {
namespace {

class MemoryBroker : public Broker {
 public:
  explicit MemoryBroker(const BrokerConfig& config)
      : historySize_(config.historySize > 0 ? config.historySize : 1),
        maxAgeMs_(config.historyMaxAgeSeconds * 1000),
        epoch_(newEpoch()),
        clock_(config.clock ? config.clock : systemWallClock()) {}

  std::string name() const override { return "memory"; }
  std::string epoch() const override { return epoch_; }

  Status publish(const std::string& channel, const std::string& event,
                 const std::string& data, MessagePtr* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    Channel& ch = channels_[channel];
    int64_t now = clock_->nowMs();
    MessagePtr msg = makeMessage(channel, MessageId{epoch_, ++ch.lastSeq, 0},
                                 event, data, now);
    ch.history.push_back(msg);
    trim(&ch, now);
    live_.deliver(msg);
    *out = std::move(msg);
    return Status::OK();
  }

  Status readAfter(const std::string& channel, const std::string& cursor,
                   size_t limit, HistoryRead* out) override {
    *out = HistoryRead();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = channels_.find(channel);
    Channel empty;
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
    auto it = channels_.find(channel);
    uint64_t last = it == channels_.end() ? 0 : it->second.lastSeq;
    *out = MessageId{epoch_, last, 0}.toString();
    return Status::OK();
  }

  std::unique_ptr<Subscription> subscribe(const std::string& channel,
                                          LiveCallback cb) override {
    return live_.add(channel, std::move(cb));
  }

  Status health() override { return Status::OK(); }

 private:
  struct Channel {
    uint64_t lastSeq = 0;  // survives trimming: the gap check needs it
    std::deque<MessagePtr> history;
  };

  // Age expiry pops from the front only, so what goes is always a prefix in
  // id order: after a clock step back, a message stamped earlier than an
  // older one stays until that one expires, and no reader sees a gap.
  // REQUIRES: mu_ held.
  void trim(Channel* ch, int64_t now) {
    while (ch->history.size() > historySize_) ch->history.pop_front();
    if (maxAgeMs_ <= 0) return;
    while (!ch->history.empty() && ch->history.front()->tsMs < now - maxAgeMs_)
      ch->history.pop_front();
  }

  // Constant after construction.
  const size_t historySize_;
  const int64_t maxAgeMs_;
  const std::string epoch_;
  const std::shared_ptr<const WallClock> clock_;

  LiveRegistry live_;  // thread-safe on its own

  std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<std::string, Channel> channels_;
};

}  // namespace

std::unique_ptr<Broker> newMemoryBroker(const BrokerConfig& config) {
  return std::make_unique<MemoryBroker>(config);
}

}  // namespace rtdemo
