// The parts of the Broker interface that every backend shares: waiting for
// an asynchronous publish (the synchronous forms are written over the
// asynchronous ones), the default publishAsync of a backend that never
// waits, and the limits of a batch, checked in this one place.
#include "storage/broker.h"

#include <condition_variable>
#include <mutex>

#include "storage/history_cap.h"

namespace rtdemo {
namespace {

// Where a waiting caller receives its completion. Lives on the caller's
// stack; the completion notifies under mu, and the caller returns only
// after it saw done under mu, so the backend thread never touches it after
// that.
template <typename Result>
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // guarded by mu
  Status status;
  Result result;

  void complete(const Status& s, const Result& r) {
    std::lock_guard<std::mutex> lock(mu);
    status = s;
    if (s.ok()) result = r;
    done = true;
    cv.notify_one();
  }
  Status wait(Result* out) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    if (status.ok()) *out = std::move(result);
    return status;
  }
};

}  // namespace

void Broker::publishAsync(std::string channel, std::string event,
                          std::string data, PublishDone done) {
  MessagePtr m;
  Status s = publish(channel, event, data, &m);
  done(s, s.ok() ? m : nullptr);
}

Status Broker::publishAndWait(const std::string& channel,
                              const std::string& event,
                              const std::string& data, MessagePtr* out) {
  Waiter<MessagePtr> w;
  publishAsync(channel, event, data,
               [&w](const Status& s, const MessagePtr& m) { w.complete(s, m); });
  return w.wait(out);
}

Status Broker::publishBatch(std::vector<PublishItem> items,
                            std::vector<MessagePtr>* out) {
  Waiter<std::vector<MessagePtr>> w;
  publishBatchAsync(std::move(items),
                    [&w](const Status& s, const std::vector<MessagePtr>& m) {
                      w.complete(s, m);
                    });
  return w.wait(out);
}

Status checkPublishBatch(const std::vector<PublishItem>& items,
                         size_t maxMessages, uint64_t maxBytes) {
  if (items.empty()) return Status::InvalidArgument("the batch is empty");
  if (items.size() > maxMessages)
    return Status::InvalidArgument(
        "the batch has " + std::to_string(items.size()) +
        " messages; at most " + std::to_string(maxMessages) + " are allowed");
  uint64_t bytes = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].channel.empty())
      return Status::InvalidArgument("message " + std::to_string(i) +
                                     ": the channel is empty");
    bytes += messageCost(items[i].event.size(), items[i].data.size());
    if (bytes > maxBytes)
      return Status::InvalidArgument(
          "message " + std::to_string(i) + ": the batch exceeds " +
          std::to_string(maxBytes) + " bytes");
  }
  return Status::OK();
}

}  // namespace rtdemo
