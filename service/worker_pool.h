// WorkerPool: a few threads for blocking Broker calls that must not run on a
// hub loop (a WebSocket subscribe reads history; a WebSocket publish waits
// for its commit).
//
// Thread-safe. stop() drops tasks not yet started and joins the threads; a
// task must not outlive what it captures, so the owner stops the pool before
// destroying them.
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
  explicit WorkerPool(int threads);
  ~WorkerPool();

  void run(std::function<void()> task);
  void stop();

 private:
  void work();

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
};

}  // namespace rtdemo
