// Implementation of HubLoop (see hub_loop.h for the life of a connection).
#include "service/hub_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <system_error>

#include "service/clock.h"
#include "service/hub.h"
#include "service/poll_answer.h"
#include "service/sse_encoder.h"

namespace rtdemo {
namespace {

constexpr uint64_t kWakeToken = 0;  // epoll data of the eventfd; conn ids start at 1

}  // namespace

Conn::Conn(uint64_t id_, Kind kind_, Poco::Net::StreamSocket socket_,
           std::string channel_)
    : id(id_),
      kind(kind_),
      socket(std::move(socket_)),
      fd(socket.impl()->sockfd()),
      channel(std::move(channel_)) {}

HubLoop::HubLoop(Hub* hub, const HubOptions& options, HubStats* stats)
    : hub_(hub), options_(options), stats_(stats) {
  epollFd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epollFd_ < 0 || wakeFd_ < 0)
    throw std::system_error(errno, std::generic_category(), "hub loop setup");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  ::epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd_, &ev);
  lastTurnMs_ = steadyMs();
}

HubLoop::~HubLoop() {
  stopAndJoin();
  ::close(wakeFd_);
  ::close(epollFd_);
}

void HubLoop::start() { thread_ = std::thread([this] { run(); }); }

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

void HubLoop::run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  nextHeartbeatMs_ = steadyMs() + options_.heartbeatSeconds * 1000;
  while (!stopping_) {
    int64_t now = steadyMs();
    int64_t wake = nextHeartbeatMs_;
    if (!pollDeadlines_.empty() && pollDeadlines_.begin()->first < wake)
      wake = pollDeadlines_.begin()->first;
    // Wake at least once a second so the watchdog sees a live loop.
    int timeout = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(wake - now, 1000)));
    int n = ::epoll_wait(epollFd_, events, kMaxEvents, timeout);
    lastTurnMs_ = steadyMs();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeToken) {
        uint64_t count;
        ssize_t r = ::read(wakeFd_, &count, sizeof count);
        (void)r;
        drainInbox();
      } else {
        handleIo(events[i].data.u64, events[i].events);
      }
    }
    now = steadyMs();
    if (now >= nextHeartbeatMs_) {
      sendHeartbeats(nowMs());
      nextHeartbeatMs_ = now + options_.heartbeatSeconds * 1000;
    }
    expirePolls(now);
  }
  shutdownAll();
}

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
    std::visit(
        [this](auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (!std::is_same_v<T, StopCmd>) handle(c);
        },
        cmd);
  }
}

void HubLoop::handle(AttachCmd& cmd) {
  Conn* c = cmd.conn.get();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = c->id;
  if (::epoll_ctl(epollFd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
    hub_->releaseFeed(c->channel);
    return;  // the Conn's socket closes as cmd.conn is destroyed
  }
  if (c->kind == Conn::Kind::kStream)
    stats_->streamsOpen.fetch_add(1, std::memory_order_relaxed);
  else
    stats_->pollsHeld.fetch_add(1, std::memory_order_relaxed);
  auto& list = channels_[c->channel];
  c->slot = list.size();
  list.push_back(c);
  conns_.emplace(c->id, std::move(cmd.conn));
}

void HubLoop::handle(ReplayCmd& cmd) {
  auto it = conns_.find(cmd.connId);
  if (it == conns_.end()) return;  // the client left while we read history
  Conn* c = it->second.get();
  if (!cmd.error.empty()) {
    if (c->kind == Conn::Kind::kPoll) {
      std::string body = "{\"error\":\"history unavailable: " + cmd.error + "\"}";
      c->keepAlive = false;
      answerPoll(c, std::make_shared<const std::string>(
                        encodeDetachedResponse(503, "Service Unavailable", body)));
    } else {
      close(c);  // the browser reconnects with its Last-Event-ID
    }
    return;
  }
  HistoryRead& h = cmd.history;
  if (h.reset) {
    stats_->resets.fetch_add(1, std::memory_order_relaxed);
    c->lastSent.reset();
  }
  stats_->replayed.fetch_add(h.messages.size(), std::memory_order_relaxed);
  if (!h.messages.empty()) c->lastSent = h.messages.back()->id;
  std::vector<LiveEventPtr> pending;
  pending.swap(c->pendingLive);
  c->pendingBytes = 0;
  c->replaying = false;

  if (c->kind == Conn::Kind::kPoll) {
    std::vector<MessagePtr> batch = std::move(h.messages);
    for (const LiveEventPtr& ev : pending) {
      if (batch.size() >= options_.pollMaxBatch) break;
      if (isNew(*c, *ev->message())) {
        batch.push_back(ev->message());
        c->lastSent = ev->message()->id;
      }
    }
    if (!batch.empty() || h.reset) {
      std::string lastId = batch.empty() ? cmd.epochStart : batch.back()->idText;
      answerPollNow(c, batch, lastId, h.reset, h.oldest);
      return;
    }
    c->pollDeadlineMs = steadyMs() + c->pollTimeoutMs;
    pollDeadlines_.emplace(c->pollDeadlineMs, c->id);
    return;
  }

  if (h.reset) {
    writeStream(c, std::make_shared<const std::string>(
                       sse::encodeReset(cmd.epochStart, h.oldest, h.resetReason)));
    if (conns_.count(cmd.connId) == 0) return;
  }
  // Back to replaying until the history is written; pending live events wait.
  c->replaying = true;
  c->pendingLive = std::move(pending);
  c->backlog = std::move(h.messages);
  c->backlogNext = 0;
  pumpBacklog(c);
}

bool HubLoop::pumpBacklog(Conn* c) {
  const uint64_t id = c->id;
  while (c->backlogNext < c->backlog.size()) {
    if (c->out.bytes() > options_.maxBufferBytes / 2) {
      setWantWrite(c, true);  // EPOLLOUT brings us back here
      return true;
    }
    const MessagePtr& m = c->backlog[c->backlogNext++];
    c->lastSent = m->id;
    writeStream(c, std::make_shared<const std::string>(sse::encodeMessage(*m)));
    if (conns_.count(id) == 0) return false;
  }
  c->backlog.clear();
  c->backlog.shrink_to_fit();
  c->backlogNext = 0;
  std::vector<LiveEventPtr> pending;
  pending.swap(c->pendingLive);
  c->pendingBytes = 0;
  c->replaying = false;
  for (const LiveEventPtr& ev : pending) {
    if (!isNew(*c, *ev->message())) continue;
    c->lastSent = ev->message()->id;
    writeStream(c, ev->sse());
    if (conns_.count(id) == 0) return false;
  }
  return true;
}

void HubLoop::cutOffSlow(Conn* c) {
  // A subscriber that cannot keep up would make us hold an unbounded
  // backlog; it resumes from history when it reconnects.
  stats_->slowDisconnects.fetch_add(1, std::memory_order_relaxed);
  close(c);
}

void HubLoop::handle(LiveCmd& cmd) {
  const Message& m = *cmd.event->message();
  auto it = channels_.find(m.channel);
  if (it == channels_.end()) return;
  // Copy: answering a poll or cutting off a stream edits the list.
  std::vector<Conn*> targets = it->second;
  for (Conn* c : targets) {
    if (c->replaying) {
      c->pendingLive.push_back(cmd.event);
      c->pendingBytes += cmd.event->sse()->size();
      if (c->pendingBytes > options_.maxBufferBytes) cutOffSlow(c);
      continue;
    }
    if (!isNew(*c, m)) continue;
    c->lastSent = m.id;
    if (c->kind == Conn::Kind::kStream) {
      writeStream(c, cmd.event->sse());
    } else {
      pollDeadlines_.erase({c->pollDeadlineMs, c->id});
      answerPoll(c, cmd.event->pollAnswer(c->keepAlive));
    }
  }
}

bool HubLoop::isNew(const Conn& c, const Message& m) const {
  if (!c.lastSent) return true;
  if (c.lastSent->epoch != m.id.epoch) return true;
  return *c.lastSent < m.id;
}

void HubLoop::writeStream(Conn* c, const SharedBytes& bytes) {
  if (c->closing) return;
  OutBuffer::Result r = c->out.write(c->fd, bytes);
  stats_->delivered.fetch_add(1, std::memory_order_relaxed);
  if (r == OutBuffer::Result::kError) {
    close(c);
  } else if (r == OutBuffer::Result::kBlocked) {
    if (c->out.bytes() > options_.maxBufferBytes) {
      cutOffSlow(c);
      return;
    }
    setWantWrite(c, true);
  }
}

void HubLoop::answerPollNow(Conn* c, const std::vector<MessagePtr>& messages,
                            const std::string& lastId, bool reset,
                            const std::string& oldest) {
  stats_->delivered.fetch_add(messages.size(), std::memory_order_relaxed);
  answerPoll(c, std::make_shared<const std::string>(encodeDetachedResponse(
                    200, "OK", encodePollBody(messages, lastId, reset, oldest),
                    c->keepAlive)));
}

void HubLoop::answerPoll(Conn* c, const SharedBytes& response) {
  if (c->answered) return;
  unlinkFromChannel(c);
  pollDeadlines_.erase({c->pollDeadlineMs, c->id});
  c->pollDeadlineMs = 0;
  c->answered = true;
  c->closing = true;
  stats_->pollsHeld.fetch_sub(1, std::memory_order_relaxed);
  OutBuffer::Result r = c->out.write(c->fd, response);
  if (r == OutBuffer::Result::kBlocked) {
    setWantWrite(c, true);
    return;
  }
  if (r == OutBuffer::Result::kError) {
    close(c);
    return;
  }
  finishAnswered(c);
}

void HubLoop::finishAnswered(Conn* c) {
  if (!c->keepAlive || !options_.handBack) {
    close(c);
    return;
  }
  if (c->pipelined) {
    handBack(c);  // its next request is already waiting
    return;
  }
  c->closing = false;
  c->idle = true;
  c->pollDeadlineMs = steadyMs() + options_.keepAliveIdleMs;
  pollDeadlines_.emplace(c->pollDeadlineMs, c->id);
  updateInterest(c);
}

void HubLoop::handBack(Conn* c) {
  pollDeadlines_.erase({c->pollDeadlineMs, c->id});
  ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, c->fd, nullptr);
  Poco::Net::StreamSocket socket = c->socket;  // shares the descriptor
  std::string channel = c->channel;
  conns_.erase(c->id);  // destroys *c; the socket stays open through `socket`
  hub_->releaseFeed(channel);
  try {
    socket.setBlocking(true);
  } catch (...) {
    return;  // the descriptor is broken; dropping `socket` closes it
  }
  options_.handBack(socket);
}

void HubLoop::setWantWrite(Conn* c, bool want) {
  if (c->wantWrite == want) return;
  c->wantWrite = want;
  updateInterest(c);
}

void HubLoop::updateInterest(Conn* c) {
  epoll_event ev{};
  // A poll whose next request has arrived is not read until it is handed
  // back, so level-triggered EPOLLIN would fire forever: watch for the peer
  // going away instead.
  bool readable = !(c->kind == Conn::Kind::kPoll && c->pipelined);
  ev.events = EPOLLRDHUP | (readable ? uint32_t(EPOLLIN) : 0u) |
              (c->wantWrite ? uint32_t(EPOLLOUT) : 0u);
  ev.data.u64 = c->id;
  ::epoll_ctl(epollFd_, EPOLL_CTL_MOD, c->fd, &ev);
}

void HubLoop::handleIo(uint64_t connId, uint32_t events) {
  auto it = conns_.find(connId);
  if (it == conns_.end()) return;
  Conn* c = it->second.get();
  if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
    close(c);
    return;
  }
  if ((events & EPOLLIN) && c->kind == Conn::Kind::kPoll) {
    // Whatever a poll client sends next is its next request: never consume
    // it, only look whether it is there.
    char byte;
    ssize_t n = ::recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      close(c);
      return;
    }
    if (n > 0) {
      if (c->idle) {
        handBack(c);
        return;
      }
      c->pipelined = true;
      updateInterest(c);
    }
  } else if (events & EPOLLIN) {
    // Stream subscribers have nothing to say after their request; read to
    // notice a close, and discard anything else.
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
  if (events & EPOLLOUT) {
    OutBuffer::Result r = c->out.flush(c->fd);
    if (r == OutBuffer::Result::kError) {
      close(c);
    } else if (r == OutBuffer::Result::kDone) {
      if (c->closing) {
        setWantWrite(c, false);
        finishAnswered(c);
      } else {
        setWantWrite(c, false);
        if (c->replaying && !c->backlog.empty()) pumpBacklog(c);
      }
    }
  }
}

void HubLoop::sendHeartbeats(int64_t now) {
  auto bytes = std::make_shared<const std::string>(sse::encodeHeartbeat(now));
  std::vector<Conn*> streams;
  streams.reserve(conns_.size());
  for (auto& entry : conns_) {
    Conn* c = entry.second.get();
    if (c->kind == Conn::Kind::kStream && !c->replaying && !c->closing)
      streams.push_back(c);
  }
  for (Conn* c : streams) {
    stats_->heartbeats.fetch_add(1, std::memory_order_relaxed);
    OutBuffer::Result r = c->out.write(c->fd, bytes);
    if (r == OutBuffer::Result::kError) {
      close(c);
    } else if (r == OutBuffer::Result::kBlocked) {
      if (c->out.bytes() > options_.maxBufferBytes) {
        cutOffSlow(c);
      } else {
        setWantWrite(c, true);
      }
    }
  }
}

void HubLoop::expirePolls(int64_t now) {
  while (!pollDeadlines_.empty() && pollDeadlines_.begin()->first <= now) {
    uint64_t id = pollDeadlines_.begin()->second;
    pollDeadlines_.erase(pollDeadlines_.begin());
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Conn* c = it->second.get();
    c->pollDeadlineMs = 0;
    if (c->idle) {
      close(c);  // an answered keep-alive connection left unused
      continue;
    }
    // A timeout is not an error: an empty answer, which clients show as a
    // heartbeat, with the cursor they should poll from next.
    answerPollNow(c, {}, c->pollCursor, false, "");
  }
}

void HubLoop::unlinkFromChannel(Conn* c) {
  auto it = channels_.find(c->channel);
  if (it == channels_.end()) return;
  auto& list = it->second;
  if (c->slot >= list.size() || list[c->slot] != c) return;  // already unlinked
  Conn* moved = list.back();
  list[c->slot] = moved;
  moved->slot = c->slot;
  list.pop_back();
  c->slot = SIZE_MAX;
  if (list.empty()) channels_.erase(it);
}

void HubLoop::close(Conn* c) {
  unlinkFromChannel(c);
  if (c->pollDeadlineMs != 0) pollDeadlines_.erase({c->pollDeadlineMs, c->id});
  ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, c->fd, nullptr);
  // Unread input makes close() send a reset that can destroy the answer we
  // just queued in the kernel; read it away first.
  char buf[1024];
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
  }
  if (c->kind == Conn::Kind::kStream)
    stats_->streamsOpen.fetch_sub(1, std::memory_order_relaxed);
  else if (!c->answered)
    stats_->pollsHeld.fetch_sub(1, std::memory_order_relaxed);
  try {
    c->socket.close();
  } catch (...) {
  }
  std::string channel = c->channel;
  conns_.erase(c->id);  // destroys *c
  hub_->releaseFeed(channel);
}

void HubLoop::shutdownAll() {
  std::vector<Conn*> all;
  for (auto& entry : conns_) all.push_back(entry.second.get());
  for (Conn* c : all) {
    if (conns_.count(c->id) == 0) continue;
    if (c->kind == Conn::Kind::kPoll && !c->answered && !c->replaying) {
      c->keepAlive = false;  // the server is going away
      answerPollNow(c, {}, c->pollCursor, false, "");
      if (conns_.count(c->id) == 0) continue;
    }
    // Streams end with a clean close, which makes EventSource reconnect
    // after its retry delay; what is still queued goes out if it fits.
    c->out.flush(c->fd);
    close(c);
  }
}

}  // namespace rtdemo
