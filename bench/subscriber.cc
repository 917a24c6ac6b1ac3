// One SSE subscriber (see subscriber.h).
#include "subscriber.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ds_stream.h"
#include "load_run.h"
#include "net_util.h"

namespace bench {

SseSubscriber::SseSubscriber(LoadRun* run, int channel, bool slow)
    : run_(run),
      channel_(channel),
      slow_(slow),
      ds_(run->options().mode == Mode::kDs),
      http_(this),
      sse_(this) {}

SseSubscriber::~SseSubscriber() { closeFd(); }

void SseSubscriber::closeFd() {
  if (fd_ >= 0) {
    close(fd_);  // also leaves the epoll set
    fd_ = -1;
  }
}

void SseSubscriber::start() {
  if (start_ns_ == 0) start_ns_ = nowNs();
  ++attempts_;
  const Options& o = run_->options();
  fd_ = startConnect(run_->nextDst(), run_->nextSourceIndex(), o.src_addrs,
                     slow_ ? o.slow_rcvbuf : 0);
  if (fd_ < 0) {
    fail();
    return;
  }
  state_ = State::kConnecting;
  ended_ = false;
  http_.reset();
  sse_.reset();
  run_->watch(fd_, this, EPOLLOUT);
}

void SseSubscriber::onRetry() { start(); }

void SseSubscriber::fail() {
  closeFd();
  if (resuming_) {
    // An EventSource retries for as long as the page lives; so does this,
    // until the run ends.
    ++run_->counters().resume_failures;
    state_ = State::kIdle;
    run_->scheduleRetry(this, retryDelayMs());
    return;
  }
  bool give_up = attempts_ > run_->options().connect_retries;
  state_ = give_up ? State::kDone : State::kIdle;
  if (slow_) return;
  if (subscribed_) {
    // A Durable Streams reader whose new request failed: not a subscribe.
    if (give_up) {
      ++run_->counters().disconnects;
    } else {
      run_->scheduleRetry(this, 200);
    }
    return;
  }
  run_->onSubscribeFailed(give_up);
  if (!give_up) run_->scheduleRetry(this, 200);
}

void SseSubscriber::lostStream() {
  ++run_->counters().disconnects;
  closeFd();
  if (!run_->options().resume || slow_) {
    state_ = State::kDone;
    return;
  }
  resuming_ = true;
  ever_dropped_ = true;
  dropped_ns_ = nowNs();
  run_->onStreamDropped();
  state_ = State::kIdle;
  run_->scheduleRetry(this, retryDelayMs());
}

void SseSubscriber::sendRequest() {
  const Options& o = run_->options();
  const std::string& name = run_->channel(channel_).name;
  std::string req;
  if (ds_) {
    req = dsReadRequest(name, offset_);
  } else if (o.server == ServerKind::kRtdemo) {
    req = "GET /events?channel=" + urlEncode(name) + " HTTP/1.1\r\n";
  } else {
    req = "GET /sub?id=" + urlEncode(name) + " HTTP/1.1\r\n";
  }
  req +=
      "Host: 127.0.0.1\r\n"
      "Accept: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n";
  if (resuming_ && !last_id_.empty()) req += "Last-Event-ID: " + last_id_ + "\r\n";
  req += "\r\n";
  // A fresh socket's send buffer always takes a request this small.
  if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(req.size())) {
    fail();
    return;
  }
  if (slow_) {
    // Never read again: the kernel window closes and the server must
    // buffer, then cut us off. Leaving epoll also keeps it from spinning on
    // readable data.
    run_->unwatch(fd_);
    state_ = State::kStreaming;
    return;
  }
  state_ = State::kAwaitHead;
  run_->rewatch(fd_, this, EPOLLIN | EPOLLRDHUP);
}

void SseSubscriber::onEvent(uint32_t events) {
  // Everything after the connect arrives through onReceived().
  if (state_ != State::kConnecting) return;
  if ((events & (EPOLLERR | EPOLLHUP)) || socketError(fd_) != 0) {
    fail();
    return;
  }
  sendRequest();
}

int SseSubscriber::receiveFd(uint32_t) const {
  return state_ == State::kConnecting ? -1 : fd_;
}

void SseSubscriber::resume() {
  ++run_->counters().ds_reconnects;
  closeFd();
  attempts_ = 0;
  start();
}

void SseSubscriber::onReceived(const char* data, ssize_t n,
                               const Received& when) {
  if (fd_ < 0) return;
  received_ = when;
  if (n > 0) {
    bool ok = http_.feed(data, static_cast<size_t>(n));
    if (ok && ended_) {
      resume();
      return;
    }
    if (!ok) {
      ++run_->counters().http_errors;
      if (state_ == State::kStreaming) {
        ++run_->counters().disconnects;
        closeFd();
        state_ = State::kDone;
      } else {
        fail();
      }
    }
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // EOF or error.
  if (state_ == State::kStreaming && ds_) {
    resume();
  } else if (state_ == State::kStreaming) {
    lostStream();
  } else if (state_ == State::kAwaitHead) {
    fail();
  }
}

void SseSubscriber::onHead(const HttpHead& head) {
  if (state_ != State::kAwaitHead) return;
  if (head.status != 200) {
    http_.reset();
    fail();
    return;
  }
  state_ = State::kStreaming;
  if (resuming_) {
    resuming_ = false;
    run_->onResumed(nowNs() - dropped_ns_);
    return;
  }
  if (subscribed_) return;  // a Durable Streams reader reading on
  subscribed_ = true;
  run_->onSubscribed(channel_, nowNs() - start_ns_);
}

void SseSubscriber::onBody(const char* data, size_t len) { sse_.feed(data, len); }

void SseSubscriber::onComplete() {
  // An event stream has no end; a completed body means the server ended it.
  // A Durable Streams reader then reads on (after feed() returns).
  if (ds_) ended_ = true;
}

void SseSubscriber::onSseEvent(const std::string& event, const std::string& id,
                               const std::string& data) {
  if (!id.empty()) last_id_ = id;
  if (ds_) {
    if (event == "control") {
      controlNextOffset(data, &offset_);
    } else if (event == "data") {
      forEachBenchPayload(data, [&](const char* p, size_t len) {
        run_->onMessage(channel_, p, len, received_, &tracker_,
                        ever_dropped_);
      });
    }
    return;
  }
  if (event == "reset") {
    ++run_->counters().resets;
    return;
  }
  if (data.compare(0, 2, "t=") != 0) return;  // heartbeats, greetings
  run_->onMessage(channel_, data.data(), data.size(), received_, &tracker_,
                  ever_dropped_);
}

uint64_t SseSubscriber::drain(int timeout_ms, bool* cut) {
  *cut = false;
  if (fd_ < 0) {
    *cut = state_ == State::kDone;
    return 0;
  }
  uint64_t total = 0;
  // Read until the server's FIN or RST shows up behind the buffered data, or
  // until the stream has been quiet for timeout_ms (bounded overall, in case
  // the server keeps feeding us).
  const int64_t quiet_ns = static_cast<int64_t>(timeout_ms) * 1000000;
  const int64_t hard_deadline = nowNs() + 10 * quiet_ns;
  int64_t deadline = nowNs() + quiet_ns;
  for (;;) {
    int64_t left_ms = (deadline - nowNs()) / 1000000;
    if (left_ms <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left_ms));
    if (r <= 0) break;
    ssize_t n = recv(fd_, run_->readBuffer(), run_->readBufferSize(), 0);
    if (n > 0) {
      total += static_cast<uint64_t>(n);
      deadline = std::min(nowNs() + quiet_ns, hard_deadline);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    *cut = true;
    break;
  }
  close(fd_);
  fd_ = -1;
  state_ = State::kDone;
  return total;
}

}  // namespace bench
