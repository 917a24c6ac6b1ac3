// StreamWaiters (see stream_waiters.h).
#include "service/hub/stream_waiters.h"

#include <algorithm>

#include "Poco/Logger.h"
#include "storage/clock.h"

namespace rtdemo {

StreamWaiters::StreamWaiters(Broker* broker, std::function<void(int fd)> onRelease)
    : broker_(broker), onRelease_(std::move(onRelease)), workers_(2, "rtdemo-swait") {}

StreamWaiters::~StreamWaiters() { stop(); }

void StreamWaiters::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  timer_ = std::thread([this] { timerLoop(); });
}

void StreamWaiters::stop() {
  std::map<uint64_t, Waiter> left;
  std::map<std::string, Channel> channels;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(waiters_);
    channels.swap(channels_);
    deadlines_.clear();
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  // Continuations already running finish; those that ask to wait again are
  // closed by add().
  workers_.drain();
  for (auto& [id, w] : left) release(w.socket);
  channels.clear();  // unsubscribes, outside mu_
}

void StreamWaiters::release(Poco::Net::StreamSocket& socket) {
  int fd = -1;
  try {
    fd = static_cast<int>(socket.impl()->sockfd());
    socket.shutdown();
  } catch (const std::exception&) {
    // Already gone: closing is all that is left.
  }
  socket.close();
  if (fd >= 0 && onRelease_) onRelease_(fd);
}

size_t StreamWaiters::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

void StreamWaiters::add(Poco::Net::StreamSocket socket, const std::string& channel,
                        const std::string& afterId, int64_t timeoutMs, Continue next) {
  uint64_t id = 0;
  std::unique_ptr<Subscription> spare;  // a subscription that lost a race
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      release(socket);
      return;
    }
    auto it = channels_.find(channel);
    if (it == channels_.end() || !it->second.subscription) {
      // Subscribe outside mu_: a live callback takes mu_.
      lock.unlock();
      spare = broker_->subscribe(channel, [this, channel](const MessagePtr&) { wake(channel); });
      lock.lock();
      if (stopping_) {
        lock.unlock();
        spare.reset();
        release(socket);
        return;
      }
      Channel& ch = channels_[channel];
      if (!ch.subscription) ch.subscription = std::move(spare);
    }
    id = nextId_++;
    Waiter w;
    w.socket = std::move(socket);
    w.channel = channel;
    w.timeoutMs = timeoutMs;
    w.deadline = steadyMs() + timeoutMs;
    w.next = std::move(next);
    deadlines_.emplace(w.deadline, id);
    waiters_.emplace(id, std::move(w));
    channels_[channel].waiters.push_back(id);
  }
  cv_.notify_all();  // a new earliest deadline, maybe
  spare.reset();
  // Subscribed before this check: a message stored before it shows in the
  // tail, one stored after it wakes the subscription.
  std::string tail;
  if (broker_->lastId(channel, &tail).ok() && tail != afterId) {
    std::lock_guard<std::mutex> lock(mu_);
    if (waiters_.count(id)) fire({id}, false);
  }
}

void StreamWaiters::wake(const std::string& channel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(channel);
  if (it == channels_.end() || it->second.waiters.empty()) return;
  std::vector<uint64_t> ids;
  ids.swap(it->second.waiters);
  fire(ids, false);
}

void StreamWaiters::fire(const std::vector<uint64_t>& ids, bool timedOut) {
  for (uint64_t id : ids) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) continue;
    Waiter w = std::move(it->second);
    waiters_.erase(it);
    for (auto d = deadlines_.find(w.deadline); d != deadlines_.end() && d->first == w.deadline; ++d)
      if (d->second == id) {
        deadlines_.erase(d);
        break;
      }
    auto ch = channels_.find(w.channel);
    if (ch != channels_.end()) {
      auto& list = ch->second.waiters;
      for (size_t i = 0; i < list.size(); i++)
        if (list[i] == id) {
          list[i] = list.back();
          list.pop_back();
          break;
        }
    }
    auto shared = std::make_shared<Waiter>(std::move(w));
    workers_.run([this, shared, timedOut] { run(std::move(*shared), timedOut); });
  }
}

void StreamWaiters::run(Waiter waiter, bool timedOut) {
  std::optional<std::string> again;
  try {
    again = waiter.next(waiter.socket, timedOut);
  } catch (const std::exception& e) {
    Poco::Logger::get("rtdemo").warning("stream reader on %s failed: %s", waiter.channel,
                                        std::string(e.what()));
    again.reset();
  }
  if (!again) {
    release(waiter.socket);
    return;
  }
  add(std::move(waiter.socket), waiter.channel, *again, waiter.timeoutMs, std::move(waiter.next));
}

void StreamWaiters::timerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  int64_t lastSweep = steadyMs();
  while (!stopping_) {
    int64_t now = steadyMs();
    std::vector<uint64_t> due;
    for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it)
      due.push_back(it->second);
    if (!due.empty()) fire(due, true);
    // Channels nobody waits on any more give up their subscription, which
    // is destroyed outside mu_ (its callback takes mu_).
    // Once a second, so that an SSE reader between two waits does not
    // make its channel resubscribe on every message.
    std::vector<std::unique_ptr<Subscription>> idle;
    if (now - lastSweep >= 1000) lastSweep = now;
    for (auto it = channels_.begin(); lastSweep == now && it != channels_.end();) {
      if (it->second.waiters.empty()) {
        idle.push_back(std::move(it->second.subscription));
        it = channels_.erase(it);
      } else {
        ++it;
      }
    }
    if (!idle.empty()) {
      lock.unlock();
      idle.clear();
      lock.lock();
      continue;
    }
    int64_t wait = 1000;
    if (!deadlines_.empty()) wait = std::min<int64_t>(wait, deadlines_.begin()->first - now);
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, wait)));
  }
}

}  // namespace rtdemo
