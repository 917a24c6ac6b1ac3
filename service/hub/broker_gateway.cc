// Implementation of BrokerGateway (see broker_gateway.h).
#include "service/hub/broker_gateway.h"

#include <future>

#include "service/protocol/history_page.h"
#include "service/protocol/http_status.h"
#include "service/protocol/ws_frame.h"

namespace rtdemo {

BrokerGateway::BrokerGateway(Broker* broker, const HubOptions& options, HubStats* stats,
                             LiveCallback onLive)
    : broker_(broker),
      queueMax_(options.workerQueueMax),
      stats_(stats),
      feeds_(broker, std::move(onLive)) {}

BrokerGateway::~BrokerGateway() { stop(); }

void BrokerGateway::stop() {
  workers_.stop();
  // Publishes the workers started complete on the Broker's threads and post
  // to the loops: they must all have run before the loops go away.
  waitForPublishes();
  feeds_.drain();
}

ReplayCmd BrokerGateway::readPageNow(const PageRequest& r) {
  ReplayCmd page;
  page.connId = r.connId;
  page.channel = r.channel;
  page.generation = r.generation;
  page.first = r.first;
  std::string from = r.cursor;
  // Live only: "now" is taken after the subscription was registered and its
  // feed subscribed, so nothing published in between can slip past.
  if (r.resolveNow && !broker_->lastId(r.channel, &from).ok()) from.clear();
  page.cursor = from;
  if (!from.empty()) {
    Status s = broker_->readAfter(r.channel, from, r.limit, &page.history);
    if (!s.ok()) {
      page.error = s.toString();
      return page;
    }
    page.more = page.history.messages.size() >= r.limit;
    if (trimToBudget(&page.history.messages, r.budgetBytes)) page.more = true;
  }
  // After the read: if the epoch moved (a flushed Redis), the reset must
  // name the epoch the history came from.
  page.epochStart = MessageId::start(broker_->epoch()).toString();
  return page;
}

bool BrokerGateway::readPage(PageRequest request, CommandSink* sink, bool client) {
  auto task = [this, sink, request = std::move(request)] { sink->post(readPageNow(request)); };
  if (!client) {
    workers_.run(std::move(task));
    return true;
  }
  if (workers_.tryRun(std::move(task), queueMax_)) return true;
  stats_->busyRefusals.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool BrokerGateway::subscribe(PageRequest request, CommandSink* sink) {
  // The bound is checked here and the read queued once the feed is ready,
  // so several loops may pass it together: it is a bound, not an exact cap.
  if (workers_.queued() >= queueMax_) {
    stats_->busyRefusals.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const std::string channel = request.channel;
  feeds_.acquire(channel, [this, sink, request = std::move(request)] {
    readPage(request, sink, false);
  });
  return true;
}

void BrokerGateway::releaseFeed(const std::string& channel) { feeds_.release(channel); }

void BrokerGateway::acquireFeedAndWait(const std::string& channel) {
  std::promise<void> subscribed;
  feeds_.acquire(channel, [&subscribed] { subscribed.set_value(); });
  subscribed.get_future().wait();
}

bool BrokerGateway::publish(uint64_t connId, wsproto::Command command, CommandSink* sink) {
  // The worker only starts the publish; the Broker's completion (on its
  // own thread) posts the answer, so a worker never waits for a commit.
  bool queued = workers_.tryRun(
      [this, sink, connId, command = std::move(command)]() mutable {
        beginPublish();
        const std::string ref = command.ref;
        auto answer = [this, sink, connId](std::string json) {
          sink->post(WsAnswerCmd{connId, std::make_shared<const std::string>(
                                             ws::encodeFrame(ws::kText, json))});
          endPublish();
        };
        auto failed = [ref](const Status& s) {
          return wsproto::encodeError(s.toString(), ref, httpStatusFor(s));
        };
        if (!command.batch.batch) {
          broker_->publishAsync(
              std::move(command.channel), std::move(command.event), std::move(command.data),
              [this, ref, answer, failed](const Status& s, const MessagePtr& stored) {
                if (!s.ok()) return answer(failed(s));
                stats_->wsPublished.fetch_add(1, std::memory_order_relaxed);
                answer(wsproto::encodeAck(*stored, ref));
              });
          return;
        }
        std::vector<PublishItem> items;
        items.reserve(command.batch.messages.size());
        for (SendRequest& m : command.batch.messages)
          items.push_back(PublishItem{std::move(m.channel), std::move(m.event), std::move(m.data)});
        broker_->publishBatchAsync(
            std::move(items),
            [this, ref, answer, failed](const Status& s, const std::vector<MessagePtr>& stored) {
              if (!s.ok()) return answer(failed(s));
              stats_->wsPublished.fetch_add(stored.size(), std::memory_order_relaxed);
              answer(wsproto::encodeBatchAck(stored, ref));
            });
      },
      queueMax_);
  if (!queued) stats_->busyRefusals.fetch_add(1, std::memory_order_relaxed);
  return queued;
}

void BrokerGateway::beginPublish() {
  std::lock_guard<std::mutex> lock(publishMu_);
  ++publishing_;
}

void BrokerGateway::endPublish() {
  std::lock_guard<std::mutex> lock(publishMu_);
  if (--publishing_ == 0) published_.notify_all();
}

void BrokerGateway::waitForPublishes() {
  std::unique_lock<std::mutex> lock(publishMu_);
  published_.wait(lock, [this] { return publishing_ == 0; });
}

}  // namespace rtdemo
