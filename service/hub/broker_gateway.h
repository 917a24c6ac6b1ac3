// BrokerGateway: the Broker as the hub uses it, off the loops.
//
// It is the LoopBroker the loops hold (loop_broker.h): history pages run on
// two worker threads, which also start WebSocket publishes (asynchronous:
// the Broker's completion posts the ack), feeds on the FeedTable's
// thread, and every result is posted to the loop that asked. It also offers
// the two blocking calls a handler's pool thread makes when it hands a new
// SSE stream or poll to the hub (attach: the feed, then the first page),
// which only the Hub reaches, since the loops see the interface alone.
//
// Thread-safe. `broker` must outlive the gateway; stop() before destroying
// either.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "service/hub/feed_table.h"
#include "service/hub/hub_options.h"
#include "service/hub/hub_stats.h"
#include "service/hub/loop_broker.h"
#include "service/hub/worker_pool.h"
#include "storage/broker.h"

namespace rtdemo {

class BrokerGateway : public LoopBroker {
 public:
  // `onLive` gets every live message of every channel with a feed (on a
  // backend thread). `stats` must outlive the gateway.
  BrokerGateway(Broker* broker, const HubOptions& options, HubStats* stats,
                LiveCallback onLive);
  ~BrokerGateway() override;

  // LoopBroker.
  bool readPage(PageRequest request, CommandSink* sink, bool client) override;
  bool subscribe(PageRequest request, CommandSink* sink) override;
  void releaseFeed(const std::string& channel) override;
  bool publish(uint64_t connId, wsproto::Command command, CommandSink* sink) override;

  // For pool threads only (never a loop): take a reference to `channel`'s
  // feed and wait until its Broker subscription exists; read one page now.
  void acquireFeedAndWait(const std::string& channel);
  ReplayCmd readPageNow(const PageRequest& request);

  // Drops work not started, waits for the publishes started (their
  // completions post to the loops), runs the feeds' last releases, joins.
  void stop();

 private:
  // Publishes started and not yet answered (their answer posted).
  void beginPublish();
  void endPublish();
  void waitForPublishes();

  Broker* const broker_;
  const size_t queueMax_;
  HubStats* const stats_;
  FeedTable feeds_;
  WorkerPool workers_{2, "rtdemo-worker"};
  std::mutex publishMu_;
  std::condition_variable published_;
  size_t publishing_ = 0;  // guarded by publishMu_
};

}  // namespace rtdemo
