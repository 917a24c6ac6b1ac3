// One long-poll client (see poll_client.h).
#include "poll_client.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "json_field.h"
#include "load_run.h"
#include "net_util.h"

namespace bench {

PollClient::PollClient(LoadRun* run, int channel)
    : run_(run), channel_(channel), http_(this) {}

PollClient::~PollClient() { closeFd(); }

void PollClient::closeFd() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

void PollClient::start() {
  start_ns_ = nowNs();
  connectNow();
}

void PollClient::connectNow() {
  ++attempts_;
  const Options& o = run_->options();
  fd_ = startConnect(run_->nextDst(), run_->nextSourceIndex(), o.src_addrs, 0);
  if (fd_ < 0) {
    lost();
    return;
  }
  state_ = State::kConnecting;
  http_.reset();
  run_->watch(fd_, this, EPOLLOUT);
}

void PollClient::onRetry() { connectNow(); }

void PollClient::lost() {
  http_.reset();
  closeFd();
  if (!subscribed_) {
    bool give_up = attempts_ > run_->options().connect_retries;
    run_->onSubscribeFailed(give_up);
    if (give_up) {
      state_ = State::kDone;
      return;
    }
  } else {
    ++run_->counters().poll_reconnects;
  }
  state_ = State::kIdle;
  run_->scheduleRetry(this, 200);
}

void PollClient::sendPoll() {
  const Options& o = run_->options();
  const std::string& name = run_->channel(channel_).name;
  std::string req;
  if (o.server == ServerKind::kRtdemo) {
    req = "GET /poll?channel=" + urlEncode(name);
    if (!since_.empty()) req += "&since=" + urlEncode(since_);
    req += "&timeout=" + std::to_string(o.poll_timeout_s) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  } else {
    req = "GET /sub?id=" + urlEncode(name) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!last_modified_.empty()) {
      req += "If-Modified-Since: " + last_modified_ + "\r\n";
    }
    if (!etag_.empty()) req += "If-None-Match: " + etag_ + "\r\n";
    req += "\r\n";
  }
  if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(req.size())) {
    lost();
    return;
  }
  body_.clear();
  state_ = State::kWaiting;
  if (!subscribed_) {
    subscribed_ = true;
    run_->onSubscribed(channel_, nowNs() - start_ns_);
  }
}

void PollClient::onEvent(uint32_t events) {
  // Everything after the connect arrives through onReceived().
  if (state_ != State::kConnecting) return;
  if ((events & (EPOLLERR | EPOLLHUP)) || socketError(fd_) != 0) {
    lost();
    return;
  }
  run_->rewatch(fd_, this, EPOLLIN | EPOLLRDHUP);
  sendPoll();
}

int PollClient::receiveFd(uint32_t) const {
  return state_ == State::kConnecting ? -1 : fd_;
}

void PollClient::onReceived(const char* data, ssize_t n,
                            const Received& when) {
  if (fd_ < 0) return;
  received_ = when;
  if (n > 0) {
    if (!http_.feed(data, static_cast<size_t>(n))) {
      ++run_->counters().http_errors;
      lost();
    }
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // EOF. A close-delimited answer ends here; otherwise the server dropped
  // an idle keep-alive connection or the poll itself.
  bool was_answering = http_.inResponse();
  if (was_answering && http_.onEof()) return;  // onComplete reconnected
  if (was_answering) ++run_->counters().http_errors;
  closeFd();
  if (state_ == State::kDone) return;
  ++run_->counters().poll_reconnects;
  connectNow();
}

void PollClient::onHead(const HttpHead& head) { head_ = head; }

void PollClient::onBody(const char* data, size_t len) { body_.append(data, len); }

void PollClient::onComplete() {
  ++run_->counters().polls;
  if (run_->options().server == ServerKind::kRtdemo) {
    handleRtdemoBody();
  } else {
    handleNchanBody();
  }
  body_.clear();
  bool error = head_.status != 200 && head_.status != 304 &&
               head_.status != 408;
  if (error) {
    // Do not hammer a server that refuses: poll again after a pause.
    http_.reset();
    closeFd();
    state_ = State::kIdle;
    run_->scheduleRetry(this, 100);
    return;
  }
  if (head_.keep_alive && fd_ >= 0) {
    sendPoll();
    return;
  }
  // rtdemo answers held polls with Connection: close. Stop parsing this
  // socket's input and poll again on a new connection.
  http_.reset();
  closeFd();
  ++run_->counters().poll_reconnects;
  connectNow();
}

void PollClient::handleRtdemoBody() {
  if (head_.status != 200) {
    ++run_->counters().http_errors;
    return;
  }
  if (body_.find("\"reset\":true") != std::string::npos ||
      body_.find("\"reset\": true") != std::string::npos) {
    ++run_->counters().resets;
  }
  size_t pos = 0;
  for (;;) {
    size_t at = findStringField(body_, "data", pos);
    if (at == std::string::npos) break;
    size_t end = at;
    std::string data = jsonString(body_, at, &end);
    if (data.compare(0, 2, "t=") == 0) {
      run_->onMessage(channel_, data.data(), data.size(), received_, &tracker_);
    }
    pos = end;
  }
  size_t at = findStringField(body_, "last_id", 0);
  if (at != std::string::npos) {
    size_t end = at;
    since_ = jsonString(body_, at, &end);
  }
}

void PollClient::handleNchanBody() {
  // 304 / 408: Nchan's answer to a poll that timed out; keep the cursor.
  if (head_.status == 304 || head_.status == 408) return;
  if (head_.status != 200) {
    ++run_->counters().http_errors;
    return;
  }
  if (!head_.last_modified.empty()) last_modified_ = head_.last_modified;
  if (!head_.etag.empty()) etag_ = head_.etag;
  if (body_.compare(0, 2, "t=") == 0) {
    run_->onMessage(channel_, body_.data(), body_.size(), received_, &tracker_);
  }
}

}  // namespace bench
