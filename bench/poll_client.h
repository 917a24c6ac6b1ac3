// One long-poll client. Against rtdemo it asks
// GET /poll?channel=C&since=<last_id>&timeout=S and carries last_id forward;
// against Nchan it asks GET /sub?id=C and carries Last-Modified / Etag
// forward as If-Modified-Since / If-None-Match. It reuses the connection when
// the server allows keep-alive and reconnects when the server closes (rtdemo
// closes every held poll), which is what a browser would do.
#pragma once

#include <cstdint>
#include <string>

#include "connection.h"
#include "delivery_tracker.h"
#include "net_util.h"
#include "http_response.h"

namespace bench {

class LoadRun;

class PollClient : public Connection, private HttpResponseListener {
 public:
  // run must outlive this client.
  PollClient(LoadRun* run, int channel);
  ~PollClient() override;

  void start();
  void onEvent(uint32_t events) override;
  int receiveFd(uint32_t events) const override;
  void onReceived(const char* data, ssize_t n, const Received& when) override;
  void onRetry() override;

  int channel() const { return channel_; }
  bool subscribed() const { return subscribed_; }
  const DeliveryTracker& tracker() const { return tracker_; }

 private:
  enum class State { kIdle, kConnecting, kWaiting, kDone };

  void onHead(const HttpHead& head) override;
  void onBody(const char* data, size_t len) override;
  void onComplete() override;

  void connectNow();
  void sendPoll();
  void handleRtdemoBody();
  void handleNchanBody();
  void lost();  // connection failed or closed before an answer
  void closeFd();

  LoadRun* run_;  // not owned
  const int channel_;
  int fd_ = -1;
  State state_ = State::kIdle;
  bool subscribed_ = false;  // first poll has been sent
  int attempts_ = 0;
  int64_t start_ns_ = 0;
  Received received_;  // when the read being parsed arrived and was read
  DeliveryTracker tracker_;
  HttpHead head_;
  std::string body_;
  HttpResponseReader http_;
  // Cursor: rtdemo's last_id, or Nchan's Last-Modified and Etag.
  std::string since_;
  std::string last_modified_;
  std::string etag_;
};

}  // namespace bench
