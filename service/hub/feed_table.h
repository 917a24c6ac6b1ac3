// FeedTable: the hub's Broker subscriptions, one per channel that some
// connection receives, shared by every subscription to it and counted.
//
// Counting is cheap and happens on the caller's thread; the Broker's
// subscribe() and the unsubscribe (which may wait for an in-flight
// delivery, and for Redis on the network) run on the table's own thread, in
// the order acquire() and release() were called, so a release always
// follows the subscribe it undoes and no loop waits for either.
//
// Thread-safe. `broker` must outlive the table; drain() before destroying
// either.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "service/hub/worker_pool.h"
#include "storage/broker.h"

namespace rtdemo {

class FeedTable {
 public:
  // `onLive` gets every message of every channel with a feed, on a backend
  // thread (Broker::subscribe's callback).
  FeedTable(Broker* broker, LiveCallback onLive);
  ~FeedTable();

  // One more user of `channel`'s feed. `ready` runs once its Broker
  // subscription exists: at once on the caller's thread if it already
  // does, else on the table's thread. It must not block.
  void acquire(const std::string& channel, std::function<void()> ready);
  // One user fewer; the last one's release unsubscribes.
  void release(const std::string& channel);

  // Runs what is queued (the loops' last releases) and stops the thread;
  // later acquires still run their `ready`, with no subscription made.
  void drain();

 private:
  // The feed thread alone touches `subscription`; the rest is guarded by mu_.
  struct Feed {
    std::unique_ptr<Subscription> subscription;
    size_t users = 0;
    bool ready = false;
    std::vector<std::function<void()>> waiters;  // run once ready
  };

  Broker* const broker_;
  const LiveCallback onLive_;
  WorkerPool thread_{1, "rtdemo-feed"};

  std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<std::string, std::shared_ptr<Feed>> feeds_;
};

}  // namespace rtdemo
