// One keep-alive publisher connection (see publisher.h).
#include "publisher.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "load_run.h"
#include "net_util.h"

namespace bench {

std::string makePayload(int64_t t_ns, uint64_t seq, int channel, int size) {
  char head[96];
  int n = std::snprintf(head, sizeof(head), "t=%lld;seq=%llu;c=%d;",
                        static_cast<long long>(t_ns),
                        static_cast<unsigned long long>(seq), channel);
  std::string s(head, static_cast<size_t>(n));
  if (static_cast<int>(s.size()) < size) s.append(size - s.size(), 'x');
  return s;
}

Publisher::Publisher(LoadRun* run) : run_(run), http_(this) {}

Publisher::~Publisher() { closeFd(); }

void Publisher::closeFd() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

void Publisher::start() {
  const Options& o = run_->options();
  fd_ = startConnect(run_->nextDst(), run_->nextSourceIndex(), o.src_addrs, 0);
  if (fd_ < 0) {
    state_ = State::kIdle;
    run_->scheduleRetry(this, 200);
    return;
  }
  state_ = State::kConnecting;
  http_.reset();
  run_->watch(fd_, this, EPOLLOUT);
}

void Publisher::onRetry() { start(); }

void Publisher::publish(int channel, uint64_t seq, int64_t due_ns) {
  const Options& o = run_->options();
  const std::string& name = run_->channel(channel).name;
  const int64_t t = nowNs();
  std::string payload = makePayload(t, seq, channel, o.payload_bytes);
  run_->onPublishWritten(channel, seq, t, t - due_ns);
  std::string body;
  if (o.server == ServerKind::kRtdemo) {
    body = "channel=" + urlEncode(name) + "&data=" + urlEncode(payload);
    out_ =
        "POST /send HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n";
  } else {
    body = std::move(payload);
    out_ = "POST /pub?id=" + urlEncode(name) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n";
  }
  out_ += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out_ += body;
  channel_ = channel;
  seq_ = seq;
  sent_ns_ = t;
  state_ = State::kBusy;
  ++run_->counters().published;
  flush();
}

void Publisher::flush() {
  while (!out_.empty()) {
    ssize_t n = send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      run_->rewatch(fd_, this, EPOLLIN | EPOLLOUT);
      return;
    }
    failRequest();
    return;
  }
  run_->rewatch(fd_, this, EPOLLIN);
}

void Publisher::failRequest() {
  if (state_ == State::kBusy) {
    run_->onPublishAnswered(channel_, seq_, false, nowNs() - sent_ns_);
  }
  closeFd();
  state_ = State::kIdle;
  run_->scheduleRetry(this, 100);
}

void Publisher::onEvent(uint32_t events) {
  if (state_ == State::kConnecting) {
    if ((events & (EPOLLERR | EPOLLHUP)) || socketError(fd_) != 0) {
      closeFd();
      state_ = State::kIdle;
      run_->scheduleRetry(this, 200);
      return;
    }
    state_ = State::kReady;
    run_->rewatch(fd_, this, EPOLLIN);
    return;
  }
  if (fd_ < 0) return;
  if ((events & EPOLLOUT) && !out_.empty()) {
    flush();
    if (fd_ < 0) return;
  }
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))) return;
  ssize_t n = recv(fd_, run_->readBuffer(), run_->readBufferSize(), 0);
  if (n > 0) {
    if (!http_.feed(run_->readBuffer(), static_cast<size_t>(n))) failRequest();
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // The server closed the connection (idle keep-alive or after an answer).
  if (http_.inResponse() && http_.onEof()) return;  // onComplete reconnected
  if (state_ == State::kBusy) {
    failRequest();
    return;
  }
  closeFd();
  start();
}

void Publisher::onHead(const HttpHead& head) { head_ = head; }

void Publisher::onComplete() {
  if (state_ != State::kBusy) return;
  bool ok = head_.status >= 200 && head_.status < 300;
  run_->onPublishAnswered(channel_, seq_, ok, nowNs() - sent_ns_);
  if (head_.keep_alive) {
    state_ = State::kReady;
    return;
  }
  http_.reset();
  closeFd();
  start();
}

}  // namespace bench
