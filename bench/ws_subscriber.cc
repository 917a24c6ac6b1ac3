// One WebSocket subscriber (see ws_subscriber.h).
#include "ws_subscriber.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "json_field.h"
#include "load_run.h"
#include "net_util.h"

namespace bench {

WsSubscriber::WsSubscriber(LoadRun* run, int channel)
    : run_(run),
      channel_(channel),
      frames_(this),
      masks_(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(this) >> 4)) {}

WsSubscriber::~WsSubscriber() { closeFd(); }

void WsSubscriber::closeFd() {
  if (fd_ >= 0) {
    close(fd_);  // also leaves the epoll set
    fd_ = -1;
  }
  out_.clear();
  want_out_ = false;
}

void WsSubscriber::start() {
  if (start_ns_ == 0) start_ns_ = nowNs();
  ++attempts_;
  const Options& o = run_->options();
  fd_ = startConnect(run_->nextDst(), run_->nextSourceIndex(), o.src_addrs, 0);
  if (fd_ < 0) {
    fail();
    return;
  }
  state_ = State::kConnecting;
  handshake_.reset();
  frames_.reset();
  run_->watch(fd_, this, EPOLLOUT);
}

void WsSubscriber::onRetry() { start(); }

void WsSubscriber::fail() {
  closeFd();
  bool give_up = attempts_ > run_->options().connect_retries;
  state_ = give_up ? State::kDone : State::kIdle;
  run_->onSubscribeFailed(give_up);
  if (!give_up) run_->scheduleRetry(this, 200);
}

void WsSubscriber::lost() {
  ++run_->counters().disconnects;
  frames_.reset();
  closeFd();
  state_ = State::kDone;
}

void WsSubscriber::sendRequest() {
  const std::string& name = run_->channel(channel_).name;
  std::string req =
      wsUpgradeRequest(run_->options().server == ServerKind::kRtdemo
                           ? "/ws?channel=" + urlEncode(name)
                           : "/sub?id=" + urlEncode(name));
  // A fresh socket's send buffer always takes a request this small.
  if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(req.size())) {
    fail();
    return;
  }
  state_ = State::kAwaitHandshake;
  run_->rewatch(fd_, this, EPOLLIN | EPOLLRDHUP);
}

namespace {
constexpr uint32_t kReadable = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
}  // namespace

void WsSubscriber::onEvent(uint32_t events) {
  if (state_ == State::kConnecting) {
    if ((events & (EPOLLERR | EPOLLHUP)) || socketError(fd_) != 0) {
      fail();
      return;
    }
    sendRequest();
    return;
  }
  // Pongs waiting for room go first, then the receive, as before batching.
  if (fd_ >= 0 && (events & EPOLLOUT)) flush();
  if (fd_ >= 0 && (events & kReadable)) run_->receiveNow(this, fd_);
}

int WsSubscriber::receiveFd(uint32_t events) const {
  if (state_ == State::kConnecting || (events & EPOLLOUT) ||
      !(events & kReadable)) {
    return -1;
  }
  return fd_;
}

void WsSubscriber::onReceived(const char* data, ssize_t n,
                              const Received& when) {
  if (fd_ < 0) return;
  received_ = when;
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // EOF or error.
    if (state_ == State::kOpen) {
      lost();
    } else if (state_ == State::kAwaitHandshake) {
      fail();
    }
    return;
  }
  size_t len = static_cast<size_t>(n);
  if (state_ == State::kAwaitHandshake) {
    size_t used = 0;
    switch (handshake_.feed(data, len, &used)) {
      case WsHandshakeReader::Result::kMore:
        return;
      case WsHandshakeReader::Result::kFailed:
        if (handshake_.status() == 101) ++run_->counters().ws_errors;
        fail();
        return;
      case WsHandshakeReader::Result::kOk:
        break;
    }
    state_ = State::kOpen;
    subscribed_ = true;
    run_->onSubscribed(channel_, nowNs() - start_ns_);
    data += used;
    len -= used;
  }
  if (state_ != State::kOpen || len == 0) return;
  if (!frames_.feed(data, len)) {
    ++run_->counters().ws_errors;
    lost();
  }
}

void WsSubscriber::onWsMessage(WsOpcode opcode, const char* data, size_t len) {
  switch (opcode) {
    case kWsText:
    case kWsBinary:
      onText(data, len);
      return;
    case kWsPing:
      ++run_->counters().ws_pongs;
      sendFrame(kWsPong, data, len);
      return;
    case kWsClose: {
      // Echo the status code (RFC 6455 section 5.5.1), then leave: the
      // server closed the stream during the run.
      sendFrame(kWsClose, data, len < 2 ? len : 2);
      ++run_->counters().ws_closes;
      lost();
      return;
    }
    default:
      return;  // unsolicited pongs need no answer
  }
}

void WsSubscriber::onText(const char* data, size_t len) {
  if (run_->options().server == ServerKind::kNchan) {
    // Nchan sends the published body as it is.
    if (len >= 2 && data[0] == 't' && data[1] == '=') {
      run_->onMessage(channel_, data, len, received_, &tracker_);
    }
    return;
  }
  // rtdemo: {"type":"message","channel":..,"id":..,"event":..,"data":..,"ts":..}
  text_.assign(data, len);
  size_t end = 0;
  size_t at = findStringField(text_, "type", 0);
  if (at == std::string::npos) return;
  std::string type = jsonString(text_, at, &end);
  if (type == "reset") {
    ++run_->counters().resets;
    return;
  }
  if (type != "message") return;  // subscribed, heartbeat, ...
  at = findStringField(text_, "data", 0);
  if (at == std::string::npos) return;
  std::string payload = jsonString(text_, at, &end);
  run_->onMessage(channel_, payload.data(), payload.size(), received_,
                  &tracker_);
}

void WsSubscriber::sendFrame(WsOpcode opcode, const char* payload,
                             size_t len) {
  if (fd_ < 0) return;
  out_ += encodeMaskedFrame(opcode, payload, len, masks_.next());
  flush();
}

void WsSubscriber::flush() {
  while (!out_.empty()) {
    ssize_t n = send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!want_out_) run_->rewatch(fd_, this, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
      want_out_ = true;
      return;
    }
    return;  // a reset: the next read reports it
  }
  if (want_out_) run_->rewatch(fd_, this, EPOLLIN | EPOLLRDHUP);
  want_out_ = false;
}

}  // namespace bench
