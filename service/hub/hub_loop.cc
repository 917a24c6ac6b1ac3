// Implementation of HubLoop (see hub_loop.h for the life of a subscription):
// the loop itself, fan-out, writing and closing. History replay is in
// hub_replay.cc, long polls in hub_poll.cc, WebSockets in hub_ws.cc.
#include "service/hub/hub_loop.h"
#include "storage/thread_name.h"

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <system_error>

#include "Poco/Logger.h"
#include "storage/clock.h"
#include "service/protocol/sse_encoder.h"
#include "service/protocol/ws_protocol.h"

namespace rtdemo {
namespace {

constexpr uint64_t kWakeToken = 0;  // epoll data of the eventfd; conn ids start at 1
// Sends per io_uring submission. 512 sends of a small event take one to
// three milliseconds here; a ring this size is about 40 KiB per loop.
// Smaller batches (64) measured the same latency.
constexpr unsigned kBatchSends = 512;

}  // namespace

Conn::Conn(uint64_t id_, Kind kind_, Poco::Net::StreamSocket socket_)
    : id(id_),
      kind(kind_),
      socket(std::move(socket_)),
      fd(socket.impl()->sockfd()),
      phase(kind_ == Kind::kPoll ? Phase::kWaiting : Phase::kLive) {}

Sub* Conn::find(const std::string& channel) {
  for (auto& s : subs) {
    if (s->channel == channel) return s.get();
  }
  return nullptr;
}

HubLoop::HubLoop(LoopBroker* broker, const HubOptions& options, HubStats* stats)
    : broker_(broker), options_(options), clock_(*options_.clock), stats_(stats) {
  epollFd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epollFd_ < 0 || wakeFd_ < 0)
    throw std::system_error(errno, std::generic_category(), "hub loop setup");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  ::epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd_, &ev);
  lastTurnMs_ = steadyMs();
  if (options_.batchSends) {
    std::string why;
    batch_ = BatchSender::open(kBatchSends, &why);
    if (batch_) {
      stats_->batchingLoops.fetch_add(1, std::memory_order_relaxed);
      batched_.reserve(kBatchSends);
    } else {
      Poco::Logger::get("rtdemo").warning(
          "io_uring unavailable (%s): a hub loop sends with one send() per socket", why);
    }
  }
}

HubLoop::~HubLoop() {
  stopAndJoin();
  if (batch_) stats_->batchingLoops.fetch_sub(1, std::memory_order_relaxed);
  ::close(wakeFd_);
  ::close(epollFd_);
}

void HubLoop::start() {
  thread_ = std::thread([this] { run(); });
  // Named so that `top -H` and `perf sched` tell the fan-out threads from
  // POCO's request threads. Named here rather than in run() so the name is
  // set before the server accepts its first connection.
  nameThread(thread_, "rtdemo-hub");
}

void HubLoop::stopAndJoin() {
  if (!thread_.joinable()) return;
  post(StopCmd{});
  thread_.join();
}

void HubLoop::post(HubCommand command) {
  bool wasEmpty;
  {
    std::lock_guard<std::mutex> lock(inboxMu_);
    wasEmpty = inbox_.empty();
    inbox_.push_back(std::move(command));
  }
  // One wake-up per batch: the loop drains the whole inbox when it wakes.
  if (wasEmpty) {
    uint64_t one = 1;
    ssize_t n = ::write(wakeFd_, &one, sizeof one);
    (void)n;  // EAGAIN means a wake-up is already pending
  }
}

void HubLoop::failConn(uint64_t connId, const char* what, const char* why) {
  stats_->connErrors.fetch_add(1, std::memory_order_relaxed);
  Poco::Logger::get("rtdemo").error(
      "hub: closing connection %s after an error in %s: %s", std::to_string(connId),
      std::string(what), std::string(why));
  auto it = conns_.find(connId);
  if (it == conns_.end()) return;
  try {
    close(it->second.get());
  } catch (...) {
    // Even closing failed: at least stop serving it.
    forget(connId);
  }
}

void HubLoop::run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  nextHeartbeatMs_ = clock_.steadyMs() + options_.heartbeatSeconds * 1000;
  while (!stopping_) {
    int64_t now = clock_.steadyMs();
    int64_t wake = nextHeartbeatMs_;
    if (!pollDeadlines_.empty() && pollDeadlines_.begin()->first < wake)
      wake = pollDeadlines_.begin()->first;
    if (!expiries_.empty() && expiries_.begin()->first < wake) wake = expiries_.begin()->first;
    // Wake at least once a second so the watchdog sees a live loop.
    int timeout = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(wake - now, 1000)));
    int n = ::epoll_wait(epollFd_, events, kMaxEvents, timeout);
    lastTurnMs_ = steadyMs();
    try {
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == kWakeToken) {
          uint64_t count;
          ssize_t r = ::read(wakeFd_, &count, sizeof count);
          (void)r;
          drainInbox();
        } else {
          const uint64_t id = events[i].data.u64;
          const uint32_t ev = events[i].events;
          guarded(id, "its socket", [&] { handleIo(id, ev); });
        }
      }
      now = clock_.steadyMs();
      if (now >= nextHeartbeatMs_) {
        sendHeartbeats(clock_.wallMs());
        nextHeartbeatMs_ = now + options_.heartbeatSeconds * 1000;
      }
      expirePolls(now);
      expireTokens(now);
    } catch (const std::exception& e) {
      // Not one connection's: every per-connection step is guarded. Log it
      // and turn again rather than take every client down.
      stats_->connErrors.fetch_add(1, std::memory_order_relaxed);
      Poco::Logger::get("rtdemo").error("hub: error in a loop turn: %s", std::string(e.what()));
      fanningOut_ = false;
      flushing_ = false;
      graveyard_.clear();
    }
  }
  shutdownAll();
}

namespace {

// The connection a command is about, for the error path; 0 for none.
uint64_t connOf(const HubCommand& cmd) {
  if (auto* a = std::get_if<AttachCmd>(&cmd)) return a->conn ? a->conn->id : 0;
  if (auto* r = std::get_if<ReplayCmd>(&cmd)) return r->connId;
  if (auto* w = std::get_if<WsAnswerCmd>(&cmd)) return w->connId;
  return 0;
}

}  // namespace

void HubLoop::drainInbox() {
  std::vector<HubCommand> batch;
  {
    std::lock_guard<std::mutex> lock(inboxMu_);
    batch.swap(inbox_);
  }
  for (HubCommand& cmd : batch) {
    if (std::holds_alternative<StopCmd>(cmd)) {
      stopping_ = true;
      continue;
    }
    // A fan-out guards each of its connections itself.
    guarded(connOf(cmd), "a command", [&] {
      std::visit(
          [this](auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (!std::is_same_v<T, StopCmd>) handle(c);
          },
          cmd);
    });
  }
}

// ---------------------------------------------------------------------------
// Input, heartbeats, closing

void HubLoop::handleIo(uint64_t connId, uint32_t events) {
  auto it = conns_.find(connId);
  if (it == conns_.end()) return;
  Conn* c = it->second.get();
  if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
    close(c);
    return;
  }
  if (events & EPOLLIN) {
    if (c->kind == Conn::Kind::kWebSocket) {
      readWebSocket(c);
      if (conns_.count(connId) == 0) return;
    } else if (c->kind == Conn::Kind::kPoll) {
      readPollInput(c);
      if (conns_.count(connId) == 0) return;
    } else {
      // Stream subscribers have nothing to say after their request; read
      // to notice a close, and discard anything else.
      char buf[4096];
      for (;;) {
        ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        close(c);
        return;
      }
    }
  }
  if (events & EPOLLOUT) {
    OutBuffer::Result r = c->out.flush(c->fd);
    if (r == OutBuffer::Result::kError)
      close(c);
    else if (r == OutBuffer::Result::kDone)
      afterFlush(c);
  }
}

void HubLoop::sendHeartbeats(int64_t nowWall) {
  auto sseBeat = share(sse::encodeHeartbeat(nowWall));
  auto wsBeat = share(ws::encodeFrame(ws::kText, wsproto::encodeHeartbeat(nowWall)));
  auto wsPing = share(ws::encodeFrame(ws::kPing, "rtdemo"));
  std::vector<uint64_t> targets;
  targets.reserve(conns_.size());
  for (auto& entry : conns_) {
    Conn* c = entry.second.get();
    if (c->phase == Conn::Phase::kLive) targets.push_back(c->id);
  }
  const int64_t now = clock_.steadyMs();
  // As in a fan-out: a connection closed meanwhile stays in graveyard_ until
  // the round ends, since batched_ points at it.
  fanningOut_ = true;
  for (uint64_t id : targets) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Conn* c = it->second.get();
    stats_->heartbeats.fetch_add(1, std::memory_order_relaxed);
    guarded(id, "a heartbeat", [&] {
      if (c->kind == Conn::Kind::kWebSocket) {
        wsHeartbeat(c, wsBeat, wsPing, now);
        return;
      }
      // A stream still replaying gets no heartbeat: history is flowing.
      if (!c->subs.empty() && c->subs[0]->replaying) return;
      writeBatched(c, sseBeat);
    });
  }
  flushBatch();
  fanningOut_ = false;
  graveyard_.clear();
}

void HubLoop::detach(Conn* c) {
  for (auto& s : c->subs) unlink(s.get());
  disarmDeadline(c);
  if (c->expiryKey != 0) expiries_.erase({c->expiryKey, c->id});
  c->expiryKey = 0;
  ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, c->fd, nullptr);
  if (options_.onRelease) options_.onRelease(c->fd);
}

void HubLoop::discard(Conn* c) {
  std::vector<std::string> channels;
  for (auto& s : c->subs) channels.push_back(s->channel);
  forget(c->id);  // destroys *c
  for (const std::string& ch : channels) broker_->releaseFeed(ch);
}

void HubLoop::close(Conn* c) {
  detach(c);
  // Unread input makes close() send a reset that can destroy the answer we
  // just queued in the kernel; read it away first.
  char buf[1024];
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
  }
  switch (c->kind) {
    case Conn::Kind::kStream:
      stats_->streamsOpen.fetch_sub(1, std::memory_order_relaxed);
      break;
    case Conn::Kind::kPoll:
      if (!c->answered()) stats_->pollsHeld.fetch_sub(1, std::memory_order_relaxed);
      break;
    case Conn::Kind::kWebSocket:
      stats_->websocketsOpen.fetch_sub(1, std::memory_order_relaxed);
      break;
  }
  try {
    c->socket.close();
  } catch (...) {
  }
  discard(c);
}

void HubLoop::shutdownAll() {
  std::vector<uint64_t> all;
  for (auto& entry : conns_) all.push_back(entry.first);
  for (uint64_t id : all) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Conn* c = it->second.get();
    if (c->phase == Conn::Phase::kWaiting && !c->subs.empty() &&
        !c->subs[0]->replaying) {
      c->keepAlive = false;  // the server is going away
      answerPollNow(c, {}, c->pollCursor, false, "");
      if (conns_.count(id) == 0) continue;
    }
    if (c->kind == Conn::Kind::kWebSocket && c->phase == Conn::Phase::kLive) {
      c->out.write(c->fd, share(ws::encodeClose(ws::kCloseGoingAway, "server restarting")));
    }
    // Streams end with a clean close, which makes EventSource reconnect
    // after its retry delay; what is still queued goes out if it fits.
    c->out.flush(c->fd);
    close(c);
  }
}

}  // namespace rtdemo
