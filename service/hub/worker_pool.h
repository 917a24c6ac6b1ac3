// WorkerPool: a few threads for blocking work that must not run on a hub
// loop: Broker calls (a history page, a WebSocket publish waiting for its
// commit, a feed's subscribe).
//
// The queue is bounded for work a client asks for (tryRun) and unbounded
// for work that continues something already accepted (run): a replay's next
// page, a feed release. The second kind is bounded by what it continues
// (one page per subscription, one release per acquire), so a client cannot
// grow it faster than the server admits subscriptions.
//
// Thread-safe. stop() drops tasks not yet started, drain() runs them, and
// both join the threads; a task must not outlive what it captures, so the
// owner stops the pool before destroying them.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rtdemo {

class WorkerPool {
 public:
  // `name`: what its threads are called (storage/thread_name.h).
  WorkerPool(int threads, const char* name);
  ~WorkerPool();

  // Queues `task`; false once the pool is stopping (the task is dropped).
  bool run(std::function<void()> task);
  // Queues `task` unless `maxQueued` tasks already wait; false then, and
  // the task is dropped.
  bool tryRun(std::function<void()> task, size_t maxQueued);
  size_t queued() const;
  void stop();
  void drain();

 private:
  void work();
  void join();

  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
};

}  // namespace rtdemo
