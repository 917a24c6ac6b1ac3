// Implementation of WorkerPool (see worker_pool.h).
#include "service/hub/worker_pool.h"
#include "storage/thread_name.h"

#include <exception>

#include "Poco/Logger.h"

namespace rtdemo {

WorkerPool::WorkerPool(int threads, const char* name) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { work(); });
    nameThread(threads_.back(), name);
  }
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::run(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

bool WorkerPool::tryRun(std::function<void()> task, size_t maxQueued) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || tasks_.size() >= maxQueued) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

void WorkerPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    tasks_.clear();
  }
  join();
}

void WorkerPool::drain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  join();
}

void WorkerPool::join() {
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      // stop() emptied the queue; drain() lets it run out first.
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      // Tasks report failures as values; this is the last resort that keeps
      // the thread, and with it every later task, alive.
      Poco::Logger::get("rtdemo").error("worker task failed: %s", std::string(e.what()));
    }
  }
}

}  // namespace rtdemo
