// Broker: the one interface in front of every history backend.
//
// The Broker owns truth: it assigns ids, stores history, and hands every
// published message to live subscribers. It never touches sockets; the hub
// (service/hub/hub.h) never touches storage formats.
//
// Threading: every method is safe to call from many threads at once without
// external locking. Live callbacks run on a backend thread (the publisher's
// thread for memory, the writer thread for SQLite, the reader thread for
// Redis); they must be short and must not call back into the Broker.
//
// Errors are returned as Status values; no method throws.
//
// Ordering: within one channel, ids strictly increase in publish order, and
// live callbacks for that channel are invoked in id order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/broker_config.h"
#include "storage/message.h"
#include "storage/status.h"
#include "storage/stream.h"

namespace rtdemo {

// The answer to "what did I miss after this cursor?".
struct HistoryRead {
  std::vector<MessagePtr> messages;  // in id order, after the cursor
  // True when the cursor could not be served: another epoch, an id that was
  // trimmed away, or an id this history never issued. `messages` then starts
  // at the oldest retained message, and `oldest` names it ("" when the
  // channel has none left).
  bool reset = false;
  std::string oldest;
  std::string resetReason;
};

// What history holds across all channels, against its global cap
// (storage/history_cap.h), for /metrics.
struct HistoryStats {
  uint64_t retainedBytes = 0;  // messageCost() of every retained message
  uint64_t channels = 0;       // channels history knows
  // Since this broker started: channels evicted whole by the cap, and
  // messages removed by it (those of evicted channels included). On Redis,
  // the evictions this instance's publishes did; the two gauges above are
  // Redis's, shared by every instance on the prefix.
  uint64_t evictedChannels = 0;
  uint64_t evictedMessages = 0;
};

// Live delivery of one channel. Destroying it unsubscribes; once the
// destructor returns, its callback is not running and will not run again.
// REQUIRES: not destroyed from inside its own callback.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

using LiveCallback = std::function<void(const MessagePtr&)>;

class Broker {
 public:
  virtual ~Broker() = default;

  // "memory", "sqlite" or "redis".
  virtual std::string name() const = 0;

  // The current history epoch. Constant for memory and SQLite; Redis may move
  // to a new epoch when its data is flushed or replaced.
  virtual std::string epoch() const = 0;

  // Stores a message and returns it with its assigned id in *out. Returns OK
  // only once the message is as durable as this backend promises (committed
  // for SQLite, acknowledged by Redis). Unavailable when it cannot store now;
  // nothing was stored then.
  // REQUIRES: channel, event and data already validated by the caller.
  virtual Status publish(const std::string& channel, const std::string& event,
                         const std::string& data, MessagePtr* out) = 0;

  // Retained messages of `channel` after `cursor` (an id as the client sent
  // it), at most `limit` of them. An empty channel is not an error. A cursor
  // that cannot be served sets out->reset (see HistoryRead).
  virtual Status readAfter(const std::string& channel,
                           const std::string& cursor, size_t limit,
                           HistoryRead* out) = 0;

  // The id of the newest message of `channel`; for a channel with none, an
  // id just before the first one it will get ("<epoch>-0", or the eviction
  // floor of storage/history_cap.h). Used as the cursor of a client that asks
  // for live messages only: resuming from it never needs a reset.
  virtual Status lastId(const std::string& channel, std::string* out) = 0;

  // Registers `cb` for every message published to `channel` from now on.
  // Every message published after subscribe() returns is delivered; a message
  // published concurrently with it is either delivered or already readable
  // through readAfter() (callers de-duplicate by id).
  virtual std::unique_ptr<Subscription> subscribe(const std::string& channel,
                                                  LiveCallback cb) = 0;

  // OK when the backend can accept publishes right now (for /healthz).
  virtual Status health() = 0;

  // ---- Durable Streams (storage/stream.h, docs/durable-streams.md) ----
  // A channel with stream metadata is a stream; its messages are the
  // channel's own, published and delivered live like any other. Each call is
  // one atomic step: its checks, the messages it stores, the producer state
  // and the metadata commit together or not at all. OK means the backend
  // decided, and out->outcome says what; any other Status means nothing
  // changed. A backend without streams returns NotSupported.

  // Creates `channel`'s stream with `config`, storing initial.messages (and
  // closing it when initial.close) in the same commit. A stream that is
  // there and not expired is kExists or kConfigConflict, and nothing is
  // stored. initial.producer and initial.streamSeq are ignored.
  virtual Status createStream(const std::string& channel,
                              const StreamConfig& config,
                              const StreamAppend& initial, StreamResult* out) {
    (void)channel, (void)config, (void)initial, (void)out;
    return Status::NotSupported("streams are not supported by this backend");
  }

  // Appends to an existing stream (stream_rules.h decides), restarting its
  // TTL. kNotFound when there is none, or it expired.
  virtual Status appendStream(const std::string& channel,
                              const StreamAppend& append, StreamResult* out) {
    (void)channel, (void)append, (void)out;
    return Status::NotSupported("streams are not supported by this backend");
  }

  // Sets *exists and, when true, *out. An expired stream does not exist.
  virtual Status streamInfo(const std::string& channel, StreamInfo* out,
                            bool* exists) {
    (void)channel, (void)out, (void)exists;
    return Status::NotSupported("streams are not supported by this backend");
  }

  // Restarts the stream's TTL (a read); a no-op for a stream with none or
  // none at all. Kept where it is cheap (docs/durable-streams.md, "TTL").
  virtual Status touchStream(const std::string& channel) {
    (void)channel;
    return Status::NotSupported("streams are not supported by this backend");
  }

  // Removes the stream: its metadata, producer state and history. kNotFound
  // when there is none. The channel's ids are not reused: a stream created
  // at the name later starts after them (StreamInfo::startId).
  virtual Status deleteStream(const std::string& channel, StreamResult* out) {
    (void)channel, (void)out;
    return Status::NotSupported("streams are not supported by this backend");
  }

  // Fills *out. Unavailable when the backend cannot tell now (Redis away);
  // NotSupported from a Broker that keeps no history of its own.
  virtual Status historyStats(HistoryStats* out) {
    *out = HistoryStats();
    return Status::NotSupported("no history statistics");
  }
};

// Opens the backend named by config.backend. On failure returns nullptr and
// sets *status to a one-line reason suitable for stderr.
std::unique_ptr<Broker> openBroker(const BrokerConfig& config, Status* status);

}  // namespace rtdemo
