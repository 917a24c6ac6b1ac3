// One keep-alive publisher connection. It sends one request at a time:
// POST /send with a form body (rtdemo) or POST /pub?id=C with the raw
// payload (Nchan). The payload is stamped with nowNs() at the moment the
// request is written, so time spent queued in the load generator is not
// counted as server latency.
#pragma once

#include <cstdint>
#include <string>

#include "connection.h"
#include "http_response.h"

namespace bench {

class LoadRun;

class Publisher : public Connection, private HttpResponseListener {
 public:
  // run must outlive this publisher.
  explicit Publisher(LoadRun* run);
  ~Publisher() override;

  void start();
  bool ready() const { return state_ == State::kReady; }
  // REQUIRES: ready(). due_ns: when the schedule wanted it sent.
  void publish(int channel, uint64_t seq, int64_t due_ns);

  void onEvent(uint32_t events) override;
  void onRetry() override;

 private:
  enum class State { kIdle, kConnecting, kReady, kBusy };

  void onHead(const HttpHead& head) override;
  void onBody(const char*, size_t) override {}
  void onComplete() override;

  void flush();
  void failRequest();
  void closeFd();

  LoadRun* run_;  // not owned
  int fd_ = -1;
  State state_ = State::kIdle;
  int channel_ = -1;  // of the request in flight
  uint64_t seq_ = 0;
  int64_t sent_ns_ = 0;
  HttpHead head_;
  std::string out_;   // unsent part of the request in flight
  HttpResponseReader http_;
};

// The bench payload: "t=<ns>;seq=<n>;c=<channel>;" padded with 'x' to
// `size` bytes. Exposed for the publisher and for tests of the parsers.
std::string makePayload(int64_t t_ns, uint64_t seq, int channel, int size);

}  // namespace bench
