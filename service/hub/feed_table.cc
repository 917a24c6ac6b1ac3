// Implementation of FeedTable (see feed_table.h).
#include "service/hub/feed_table.h"

namespace rtdemo {

FeedTable::FeedTable(Broker* broker, LiveCallback onLive)
    : broker_(broker), onLive_(std::move(onLive)) {}

FeedTable::~FeedTable() { drain(); }

void FeedTable::acquire(const std::string& channel, std::function<void()> ready) {
  std::shared_ptr<Feed> feed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Feed>& slot = feeds_[channel];
    if (!slot) slot = std::make_shared<Feed>();
    feed = slot;
    if (feed->users++ > 0) {
      if (!feed->ready) {
        if (ready) feed->waiters.push_back(std::move(ready));
        return;
      }
      feed.reset();  // ready: run `ready` below, outside the lock
    } else if (ready) {
      feed->waiters.push_back(std::move(ready));
    }
  }
  if (!feed) {
    if (ready) ready();
    return;
  }
  // The first user: subscribe on the table's thread.
  auto subscribe = [this, channel, feed](bool stopping) {
    std::unique_ptr<Subscription> subscription;
    if (!stopping) subscription = broker_->subscribe(channel, onLive_);
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      feed->subscription = std::move(subscription);
      feed->ready = true;
      waiters.swap(feed->waiters);
    }
    for (auto& w : waiters) w();
  };
  // Once the table is drained nothing will be delivered any more; the
  // waiters still run, so that no handler waits for a feed forever.
  if (!thread_.run([subscribe] { subscribe(false); })) subscribe(true);
}

void FeedTable::release(const std::string& channel) {
  std::shared_ptr<Feed> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = feeds_.find(channel);
    if (it == feeds_.end()) return;
    if (--it->second->users > 0) return;
    dropped = std::move(it->second);
    feeds_.erase(it);
  }
  // Queued after the subscribe it undoes.
  thread_.run([dropped] {
    std::unique_ptr<Subscription> gone;
    gone.swap(dropped->subscription);
  });
}

void FeedTable::drain() {
  thread_.drain();
  std::lock_guard<std::mutex> lock(mu_);
  feeds_.clear();
}

}  // namespace rtdemo
