// One SSE subscriber: connects from a spread source address, sends
// GET /events?channel=C (rtdemo) or GET /sub?id=C (Nchan, selected by the
// Accept header), and feeds the stream through HttpResponseReader and
// SseReader into LoadRun::onMessage. A "slow" subscriber sends the same
// request and then never reads, to fill the server's buffers (scenario 8).
// With --resume, a stream that ends after subscribing is reopened as an
// EventSource would: after the server's retry:, with Last-Event-ID, again
// and again until a server answers 200 (load_run_resume.cc counts it).
// With --mode ds it is a Durable Streams reader instead (ds_stream.h):
// GET /v1/stream/{name}?offset=now&live=sse, its messages cut out of data
// events, and, when the server ends a response, a new request from the last
// control event's offset (ds_reconnects), as a Durable Streams client does.
#pragma once

#include <cstdint>
#include <string>

#include "connection.h"
#include "delivery_tracker.h"
#include "net_util.h"
#include "http_response.h"
#include "sse_reader.h"

namespace bench {

class LoadRun;

class SseSubscriber : public Connection,
                      private HttpResponseListener,
                      private SseListener {
 public:
  // run must outlive this subscriber.
  SseSubscriber(LoadRun* run, int channel, bool slow);
  ~SseSubscriber() override;

  void start();
  void onEvent(uint32_t events) override;
  int receiveFd(uint32_t events) const override;
  void onReceived(const char* data, ssize_t n, const Received& when) override;
  void onRetry() override;

  // Slow subscribers only: reads whatever the server left for it, for up to
  // timeout_ms, and reports whether the server had closed the stream.
  // Returns bytes read; *cut is true on EOF or reset.
  uint64_t drain(int timeout_ms, bool* cut);

  int channel() const { return channel_; }
  bool subscribed() const { return subscribed_; }
  const DeliveryTracker& tracker() const { return tracker_; }
  // Whether its stream ever dropped (and so it resumed, or is resuming).
  bool everDropped() const { return ever_dropped_; }

 private:
  enum class State { kIdle, kConnecting, kAwaitHead, kStreaming, kDone };

  void onHead(const HttpHead& head) override;
  void onBody(const char* data, size_t len) override;
  void onComplete() override;
  void onSseEvent(const std::string& event, const std::string& id,
                  const std::string& data) override;
  void onSseRetry(long ms) override { retry_ms_ = static_cast<int>(ms); }

  void sendRequest();
  void fail();
  // Durable Streams: the server ended the response; read on from offset_.
  void resume();
  void closeFd();
  // The stream ended after subscribing: done, or (--resume) reopened later.
  void lostStream();
  // What an EventSource waits before reconnecting.
  int retryDelayMs() const { return retry_ms_ >= 0 ? retry_ms_ : 3000; }

  LoadRun* run_;  // not owned
  const int channel_;
  const bool slow_;
  int fd_ = -1;
  State state_ = State::kIdle;
  int attempts_ = 0;
  int64_t start_ns_ = 0;  // first connect attempt, for connect latency
  bool subscribed_ = false;
  bool resuming_ = false;      // reconnecting after a drop (--resume)
  bool ever_dropped_ = false;
  int64_t dropped_ns_ = 0;     // when the stream being resumed was lost
  int retry_ms_ = -1;          // the last retry: of the server; -1: none
  std::string last_id_;        // the id of the last event with one
  const bool ds_;             // --mode ds
  std::string offset_ = "now";  // ds: where the next request reads from
  bool ended_ = false;        // ds: the response's body is complete
  DeliveryTracker tracker_;
  Received received_;  // when the read being parsed arrived and was read
  HttpResponseReader http_;
  SseReader sse_;
};

}  // namespace bench
