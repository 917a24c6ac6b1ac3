// Implementation of LiveRegistry (see live_registry.h).
#include "storage/live_registry.h"

#include <mutex>

namespace rtdemo {

class LiveRegistry::Handle : public Subscription {
 public:
  Handle(LiveRegistry* owner, std::string channel, uint64_t token)
      : owner_(owner), channel_(std::move(channel)), token_(token) {}
  ~Handle() override { owner_->remove(channel_, token_); }

 private:
  LiveRegistry* const owner_;  // must outlive every Handle it issued
  const std::string channel_;
  const uint64_t token_;
};

std::unique_ptr<Subscription> LiveRegistry::add(const std::string& channel,
                                                LiveCallback cb) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  uint64_t token = nextToken_++;
  auto& subs = byChannel_[channel];
  subs.emplace(token, std::move(cb));
  if (subs.size() == 1 && hook_) hook_(channel, true);
  return std::make_unique<Handle>(this, channel, token);
}

void LiveRegistry::remove(const std::string& channel, uint64_t token) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = byChannel_.find(channel);
  if (it == byChannel_.end()) return;
  it->second.erase(token);
  if (it->second.empty()) {
    byChannel_.erase(it);
    if (hook_) hook_(channel, false);
  }
}

void LiveRegistry::deliver(const MessagePtr& message) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = byChannel_.find(message->channel);
  if (it == byChannel_.end()) return;
  for (auto& entry : it->second) entry.second(message);
}

}  // namespace rtdemo
