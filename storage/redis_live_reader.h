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
//      subscription made while Redis was away). A pooled connection that
//      Redis closed while it was idle (a restart) does not count as "could
//      not reach": it is replaced before the XREVRANGE is sent, and the
//      XREVRANGE is resent once if its connection breaks (redis_connection.h).
//   4. A cursor only moves forward, and a batch read from cursor C is only
//      delivered if the cursor is still C when the read returns. That keeps
//      each channel's callbacks in id order even when the channel was dropped
//      and re-added during the read.
//   5. When the connection breaks, cursors are kept; after reconnecting the
//      reader resumes from them, so every message Redis kept is delivered.
//   6. Each cursor remembers the epoch of the entry it points at. After a
//      flush, a channel's new stream starts again at the clock, so its first
//      ids can be at or below a cursor of the old epoch: a publish in the same
//      millisecond as the last one before the flush, or any publish after a
//      clock step back. XREAD from the old cursor then skips those entries,
//      and, when nothing newer follows, does not even wake. (This was a real
//      loss, and it made FlushedRedisIsANewEpochForEveryInstance fail about
//      half the time: the first message after FLUSHALL often shares the
//      millisecond of the last one before it.) So:
//        - the epoch key is read in the same round trip as the XREAD but
//          *after* it (GET pipelined behind XREAD runs when the XREAD has
//          its answer), and before any batch is delivered: if it changed,
//          a cursor of the old epoch restarts from 0-0, a cursor already in
//          the new epoch is kept (no message twice), and every batch read
//          from a cursor that was reset is discarded by rule 4. A missing
//          epoch key (flushed, nobody published yet) is created right there,
//          as on connect. Every message read therefore either belongs to
//          the epoch its cursor was taken in, or is thrown away and read
//          again from the new stream's start: none is skipped;
//        - the reader also blocks on P next:<epoch it believes in> from 0-0,
//          a key that cannot exist while that epoch is current. Whoever
//          first sees a new epoch (the publisher that recreates it, any read
//          path, another reader) XADDs to it, which wakes every reader still
//          blocked on stale cursors at once. The one case it cannot cover is
//          an instance that never saw the old epoch creating the new one
//          while no instance that saw it touches Redis: blocked readers then
//          learn the new epoch when their BLOCK times out (kBlockMs), late
//          but with nothing lost.
//      The same check runs on every reconnect, so a replaced Redis (whose
//      streams may hold any ids) is handled the same way.
//   7. setActive(channel, false) when its last subscriber leaves: the cursor
//      is kept, inactive, so that a quick re-subscribe does not miss anything.
//
// Waking: a new channel must be read at once, but the reader may be blocked
// in XREAD for seconds. It therefore also reads a private stream P wake:<token>;
// subscribe() XADDs to it after offerStart(). Because the reader tracks that
// stream's cursor like any other, a wake written before the reader blocks is
// seen by the next XREAD, which a CLIENT UNBLOCK or pub/sub wake-up would miss.
// Wake ids come from a per-instance counter ("0-<n>"), not the clock, so the
// stream recreated after a flush never starts at or below the reader's cursor
// (with "*" it would in the same millisecond, and the wake would be lost).
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

  // Makes the first connection attempt on the calling thread (logging one
  // line if Redis is unusable), then starts the reader thread.
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
  bool connect(RedisConnection* conn, bool atStart);
  void resolveUnknownCursors(RedisConnection* conn);
  bool readOnce(RedisConnection* conn);
  void adoptEpoch(RedisConnection* conn, const std::string& epoch);
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
  std::string nextCursor_ = "0-0";  // in P next:<seenEpoch_>
  std::string seenEpoch_;
  int64_t downSinceLogMs_ = 0;
};

}  // namespace rtdemo
