// RedisLiveReader: the Redis backend's one thread for live delivery.
//
// Every instance, including the one that published, learns of new messages
// the same way: this thread runs XREAD BLOCK over the streams of every channel
// that has a local subscriber, on a connection of its own, and hands what it
// reads to the LiveRegistry. Reading our own publishes back through Redis
// costs one round trip but gives one order for all instances, and no second
// path that could disagree with the first.
//
// The life of a channel's cursor (the last stream id read for it):
//   1. The registry's ChannelHook calls setActive(channel, true) when the
//      channel gets its first local subscriber. The hook runs under the
//      registry lock, so it only marks the channel "awaiting its start".
//   2. Broker::subscribe() read the stream's last id X *before* adding the
//      subscriber, and offers it with offerStart(). The cursor becomes X (or
//      the cursor of an earlier activation if that is newer). Why this is
//      safe: X was read before subscribe() returned, so every message
//      published after subscribe() returns has an id greater than X, and XREAD
//      from X returns it. Messages between X and "now" may be delivered too;
//      they are not required, and the hub drops them by id.
//   3. The reader only reads channels whose start is known. If subscribe()
//      could not reach Redis, the reader itself fetches the last id once it is
//      connected (it then misses what was published between Redis coming back
//      and that fetch: the one window in this design, and only for a
//      subscription made while Redis was away).
//   4. A cursor only moves forward, and a batch read from cursor C is only
//      delivered if the cursor is still C when the read returns. That keeps
//      each channel's callbacks in id order even when the channel was dropped
//      and re-added during the read.
//   5. When the connection breaks, cursors are kept; after reconnecting the
//      reader resumes from them, so every message Redis kept is delivered.
//   6. Each cursor remembers the epoch of the entry it points at. The reader
//      reads the epoch key with every XREAD (same round trip) and on every
//      reconnect; when it changed (Redis flushed or replaced), a cursor of the
//      old epoch means nothing in the new streams and restarts from 0-0,
//      while a cursor that already moved into the new epoch is kept, so no
//      message is delivered twice. Without this, a new stream whose first ids
//      are not above the old cursor (a replaced Redis, or a flush within the
//      same millisecond as the last publish) would be skipped.
//   7. setActive(channel, false) when its last subscriber leaves: the cursor
//      is kept, inactive, so that a quick re-subscribe does not miss anything.
//
// Waking: a new channel must be read at once, but the reader may be blocked
// in XREAD for seconds. It therefore also reads a private stream P wake:<token>;
// subscribe() XADDs to it after offerStart(). Because the reader tracks that
// stream's cursor like any other, a wake written before the reader blocks is
// seen by the next XREAD, which a CLIENT UNBLOCK or pub/sub wake-up would miss.
//
// Threading: setActive() and offerStart() are thread-safe and do no I/O; the
// reader thread owns its connection. The destructor stops and joins it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "storage/live_registry.h"
#include "storage/redis_connection.h"
#include "storage/redis_stream.h"

namespace rtdemo {

class RedisLiveReader {
 public:
  // `live` and `epoch` must outlive the reader.
  RedisLiveReader(RedisEndpoint endpoint, std::string prefix, std::string wakeKey,
                  LiveRegistry* live, EpochCell* epoch);
  ~RedisLiveReader();

  void start();

  // From the ChannelHook, under the registry lock: no I/O, no registry calls.
  void setActive(const std::string& channel, bool active);

  // The stream's last entry as subscribe() saw it before registering: its id
  // (0-0 for an empty stream; nullopt: Redis was unreachable) and the epoch
  // stamped in it ("" for none). Returns true when the channel became
  // readable and the reader should be woken.
  bool offerStart(const std::string& channel, std::optional<StreamId> lastId,
                  const std::string& lastEpoch);

  // True while the reader's connection is up.
  bool connected() const { return connected_.load(); }

 private:
  struct ChannelState {
    bool active = false;
    bool awaitingStart = false;     // activated, offerStart() not seen yet
    std::optional<StreamId> cursor;  // last id read; nullopt: unknown
    std::string cursorEpoch;         // epoch of the entry at cursor; "" for 0-0
  };

  void run();
  bool connect(RedisConnection* conn);
  void resolveUnknownCursors(RedisConnection* conn);
  bool readOnce(RedisConnection* conn);
  void adoptEpoch(const std::string& epoch);
  void waitBackoff(const RedisConnection& conn);

  // Constant after construction.
  const RedisEndpoint endpoint_;
  const std::string prefix_;
  const std::string channelPrefix_;  // prefix_ + "ch:"
  const std::string wakeKey_;
  LiveRegistry* const live_;
  EpochCell* const epoch_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
  std::unique_ptr<RedisConnection> conn_;  // used by the reader thread only,
                                           // but for interrupt()

  std::mutex mu_;
  std::condition_variable cv_;  // wakes a backoff wait on stop
  // Guarded by mu_.
  std::unordered_map<std::string, ChannelState> channels_;
  size_t inactive_ = 0;

  // Reader thread only.
  std::string wakeCursor_ = "0-0";
  std::string seenEpoch_;
  int64_t downSinceLogMs_ = 0;
};

}  // namespace rtdemo
