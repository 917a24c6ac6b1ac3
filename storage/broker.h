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
//
// Asynchronous publishing (publishAsync, publishBatchAsync). The caller hands
// over the message(s) and a completion, and returns at once; the completion
// is called exactly once, when the backend has decided:
//   - with OK and the stored message(s) only once they are as durable as the
//     backend promises (SQLite: after the COMMIT that holds them, under the
//     configured synchronous setting; Redis: after Redis answered the script
//     that stored them). What has been acknowledged is never lost;
//   - with any other Status when nothing of that publish was stored.
// It runs on a backend thread: the SQLite writer thread, the Redis publisher
// thread, or the caller's own thread, inline, for memory and for a publish
// refused up front (a batch over its limits, a backend that is closing).
// So a completion must be short, must not block and must not throw: it may
// post work to another thread, and it may call publishAsync or
// publishBatchAsync again, but it must not call the synchronous publish or
// publishBatch (on SQLite that would wait on the writer thread it runs on)
// nor destroy the Broker.
// Order: within one channel, completions run in id order, except on memory,
// where each runs inline on its caller's thread, so that only one caller's
// own completions are ordered. Everywhere, a publish started after another
// returned, to the same channel, gets the greater id and completes later.
// On memory and SQLite, live subscribers get a message before its
// completion runs; on Redis the live reader delivers it once it reads it
// back, which may be later.
//
// Ownership: the Broker keeps the completion (and whatever it captured)
// until it has called it, then destroys it. A caller that may go away first
// (a connection closed before its commit) captures a weak_ptr to itself, not
// a raw pointer: its message is still stored and delivered live exactly
// once, and the completion finds the weak_ptr expired. Destroying the Broker
// calls every outstanding completion before the destructor returns.
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

// One message of a batch (publishBatch). Elements may name different
// channels; each channel's messages keep their order in the batch.
struct PublishItem {
  std::string channel;
  std::string event;  // empty: no event type
  std::string data;
};

// Completions of an asynchronous publish (see the top of this file). The
// message pointer is null, and the vector empty, unless the Status is OK.
using PublishDone = std::function<void(const Status&, const MessagePtr&)>;
using BatchDone =
    std::function<void(const Status&, const std::vector<MessagePtr>&)>;

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
  // nothing was stored then. Conflict when `channel` is a closed Durable
  // Stream (docs/durable-streams.md): nothing was stored then either.
  // REQUIRES: channel, event and data already validated by the caller.
  virtual Status publish(const std::string& channel, const std::string& event,
                         const std::string& data, MessagePtr* out) = 0;

  // publish() without waiting: `done` is called once, as the top of this
  // file says. The default stores through publish() and completes inline,
  // which is right for a backend whose publish never waits (memory).
  // REQUIRES: as publish().
  virtual void publishAsync(std::string channel, std::string event,
                            std::string data, PublishDone done);

  // Stores every message of `items`, in order, in one atomic step (one
  // transaction on SQLite, one script on Redis): all of them or none. On
  // OK, *out holds them in the order of `items`. InvalidArgument, naming
  // the element, when the batch is empty, has more than
  // BrokerConfig::batchMaxMessages elements, costs more than
  // batchMaxBytes (messageCost() of each element, storage/history_cap.h),
  // or has an element with an empty channel; nothing was stored then.
  // Unavailable as for publish(). NotSupported from a backend without
  // batches. REQUIRES: every element validated as publish() requires.
  Status publishBatch(std::vector<PublishItem> items,
                      std::vector<MessagePtr>* out);

  // publishBatch() without waiting; `done` as for publishAsync.
  virtual void publishBatchAsync(std::vector<PublishItem> items,
                                 BatchDone done) {
    (void)items;
    done(Status::NotSupported("batch publish is not supported by this backend"),
         {});
  }

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

  // Creates `channel`'s stream as a fork of fork.source (ForkSpec): it
  // reads the source's history up to fork.pointId, then its own messages,
  // numbered after that point. initial.messages are its first own messages
  // (a materialised sub-offset prefix, then the request's body). In one
  // atomic step: the checks of decideFork (stream_rules.h), the stream, its
  // messages and the source's fork count. A stream whose source is a fork
  // reads through the whole chain (storage/stream_read.h).
  virtual Status createFork(const std::string& channel, const StreamConfig& config,
                            const ForkSpec& fork, const StreamAppend& initial,
                            StreamResult* out) {
    (void)channel, (void)config, (void)fork, (void)initial, (void)out;
    return Status::NotSupported("forks are not supported by this backend");
  }

  // Appends to an existing stream (stream_rules.h decides), restarting its
  // TTL. kNotFound when there is none, or it expired; kGone when it is
  // soft-deleted.
  virtual Status appendStream(const std::string& channel,
                              const StreamAppend& append, StreamResult* out) {
    (void)channel, (void)append, (void)out;
    return Status::NotSupported("streams are not supported by this backend");
  }

  // Sets *exists and, when true, *out. An expired stream does not exist,
  // unless forks read through it: then, like a deleted one with forks, it
  // exists with out->softDeleted set.
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
  // when there is none, kGone when it is soft-deleted already. A stream that
  // has forks is soft-deleted instead (its history stays for them); removing
  // a fork removes its soft-deleted source once that has no fork left, and
  // so on up the chain, in the same atomic step. The channel's ids are not
  // reused: a stream created at the name later starts after them
  // (StreamInfo::startId).
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

 protected:
  // publish() for a backend whose real path is publishAsync(): waits for
  // the completion on the calling thread.
  Status publishAndWait(const std::string& channel, const std::string& event,
                        const std::string& data, MessagePtr* out);
};

// The limits publishBatch() enforces (BrokerConfig::batchMaxMessages and
// batchMaxBytes): OK, or InvalidArgument naming the first element or limit
// that fails. Every backend calls it before storing anything.
Status checkPublishBatch(const std::vector<PublishItem>& items,
                         size_t maxMessages, uint64_t maxBytes);

// Opens the backend named by config.backend. On failure returns nullptr and
// sets *status to a one-line reason suitable for stderr.
std::unique_ptr<Broker> openBroker(const BrokerConfig& config, Status* status);

}  // namespace rtdemo
