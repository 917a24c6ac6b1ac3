// Collector: gathers the live messages a Broker subscription delivers, so a
// test can wait for a count with a deadline instead of sleeping.
//
// Used by the broker contract suite and the backends' own cases. callback()
// may be called on any thread (the broker's delivery thread); the other
// methods from the test thread. The Collector must outlive the subscription
// its callback was given to.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "storage/broker.h"

namespace rtdemo {

class Collector {
 public:
  LiveCallback callback() {
    return [this](const MessagePtr& m) {
      std::lock_guard<std::mutex> lock(mu_);
      got_.push_back(m);
      cv_.notify_all();
    };
  }
  // True once at least `n` messages arrived; false if `limit` passed first.
  bool waitFor(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return got_.size() >= n; });
  }
  std::vector<MessagePtr> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<MessagePtr> got_;
};

}  // namespace rtdemo
