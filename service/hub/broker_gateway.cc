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
  bool queued = workers_.tryRun(
      [this, sink, connId, command = std::move(command)] {
        MessagePtr stored;
        Status s = broker_->publish(command.channel, command.event, command.data, &stored);
        if (s.ok()) stats_->wsPublished.fetch_add(1, std::memory_order_relaxed);
        std::string json = s.ok() ? wsproto::encodeAck(*stored, command.ref)
                                  : wsproto::encodeError(s.toString(), command.ref,
                                                         httpStatusFor(s));
        sink->post(WsAnswerCmd{connId, std::make_shared<const std::string>(
                                           ws::encodeFrame(ws::kText, json))});
      },
      queueMax_);
  if (!queued) stats_->busyRefusals.fetch_add(1, std::memory_order_relaxed);
  return queued;
}

}  // namespace rtdemo
