// HubLoop's subscriptions and fan-out: the channel lists a live event is
// written to, what each transport gets (the event's shared encoding, a
// reset before a new epoch's first message), and the fan-out round itself
// (hub_loop.h, step 3). Attaching a connection registers its
// subscriptions here before any history is read (step 1).
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>

#include "Poco/Logger.h"
#include "service/hub/hub_loop.h"
#include "service/protocol/sse_encoder.h"
#include "service/protocol/ws_frame.h"
#include "service/protocol/ws_protocol.h"

namespace rtdemo {
void HubLoop::link(Sub* s) {
  auto& list = channels_[s->channel];
  s->slot = list.size();
  list.push_back(s);
}

void HubLoop::unlink(Sub* s) {
  auto it = channels_.find(s->channel);
  if (it == channels_.end()) return;
  auto& list = it->second;
  if (s->slot >= list.size() || list[s->slot] != s) return;  // already unlinked
  Sub* moved = list.back();
  list[s->slot] = moved;
  moved->slot = s->slot;
  list.pop_back();
  s->slot = SIZE_MAX;
  if (list.empty()) channels_.erase(it);
}

bool HubLoop::isNew(const Sub& s, const Message& m) const {
  if (!s.lastSent) return true;
  if (s.lastSent->epoch != m.id.epoch) return true;
  return *s.lastSent < m.id;
}

SharedBytes HubLoop::encodeFor(const Conn& c, const Message& m) const {
  if (c.kind == Conn::Kind::kWebSocket)
    return share(ws::encodeFrame(ws::kText, wsproto::encodeMessage(m)));
  return share(sse::encodeMessage(m));
}

const SharedBytes& HubLoop::liveBytesFor(const Conn& c, const LiveEvent& ev) const {
  return c.kind == Conn::Kind::kWebSocket ? ev.wsFrame() : ev.sse();
}

void HubLoop::handle(AttachCmd& cmd) {
  Conn* c = cmd.conn.get();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = c->id;
  if (::epoll_ctl(epollFd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
    for (auto& s : c->subs) broker_->releaseFeed(s->channel);
    return;  // the Conn's socket closes as cmd.conn is destroyed
  }
  switch (c->kind) {
    case Conn::Kind::kStream:
      stats_->streamsOpen.fetch_add(1, std::memory_order_relaxed);
      break;
    case Conn::Kind::kPoll:
      stats_->pollsHeld.fetch_add(1, std::memory_order_relaxed);
      break;
    case Conn::Kind::kWebSocket:
      stats_->websocketsOpen.fetch_add(1, std::memory_order_relaxed);
      c->lastHeardMs = clock_.steadyMs();
      break;
  }
  for (auto& s : c->subs) link(s.get());
  conns_.emplace(c->id, std::move(cmd.conn));
  scheduleExpiry(c);
  if (c->input.empty()) return;
  if (c->kind == Conn::Kind::kWebSocket) {
    std::string early;
    early.swap(c->input);
    consumeWebSocket(c, early.data(), early.size());
  } else if (c->kind == Conn::Kind::kPoll) {
    // Its next request is already here: read once the answer is out.
    c->pipelined = true;
    updateInterest(c);
  } else {
    c->input.clear();  // a stream's client has nothing to say
  }
}

void HubLoop::dropSub(Conn* c, Sub* s) {
  unlink(s);
  const std::string channel = s->channel;
  c->subs.erase(std::find_if(c->subs.begin(), c->subs.end(),
                             [s](const std::unique_ptr<Sub>& p) { return p.get() == s; }));
  broker_->releaseFeed(channel);
}

SharedBytes HubLoop::resetNotice(const Conn& c, const Sub& s, const std::string& epochStart,
                                 const std::string& oldest, const std::string& reason) const {
  if (c.kind == Conn::Kind::kWebSocket)
    return share(ws::encodeFrame(ws::kText, wsproto::encodeReset(s.channel, oldest, reason)));
  return share(sse::encodeReset(epochStart, oldest, reason));
}

bool HubLoop::sendLive(Conn* c, Sub* s, const LiveEventPtr& ev, bool batched) {
  const Message& m = *ev->message();
  if (s->lastSent && s->lastSent->epoch != m.id.epoch) {
    // The history this client was reading is gone (a flushed Redis): say so
    // before the new epoch's first message, as a resuming client is told.
    // The live reader starts a new epoch from its first message, so that is
    // the oldest one the client can still get.
    stats_->resets.fetch_add(1, std::memory_order_relaxed);
    s->lastSent.reset();
    if (!write(c, resetNotice(*c, *s, MessageId::start(m.id.epoch).toString(), m.idText,
                              "id from another history epoch")))
      return false;
  }
  if (!isNew(*s, m)) return true;
  s->lastSent = m.id;
  if (!batched) {
    stats_->delivered.fetch_add(1, std::memory_order_relaxed);
    return write(c, liveBytesFor(*c, *ev));
  }
  writeBatched(c, liveBytesFor(*c, *ev));
  return true;
}

void HubLoop::handle(LiveCmd& cmd) {
  const Message& m = *cmd.event->message();
  auto it = channels_.find(m.channel);
  if (it == channels_.end()) return;
  // Copy: answering a poll or cutting off a connection edits the list. A
  // connection closed meanwhile is unlinked (slot SIZE_MAX) and kept alive
  // until the end (forget()), so every pointer here stays valid.
  std::vector<Sub*> targets = it->second;
  fanningOut_ = true;
  uint64_t delivered = 0;
  for (Sub* s : targets) {
    if (s->slot == SIZE_MAX) continue;
    Conn* c = s->conn;
    guarded(c->id, "a fan-out", [&] {
      if (s->replaying) {
        queueWhileReplaying(s, cmd.event);
      } else if (c->kind == Conn::Kind::kPoll) {
        livePoll(c, s, cmd.event);
      } else {
        const bool fresh = isNew(*s, m);
        sendLive(c, s, cmd.event, true);
        if (fresh) ++delivered;
      }
    });
  }
  flushBatch();
  fanningOut_ = false;
  graveyard_.clear();
  // Counted once per message: the loops share this counter's cache line.
  stats_->delivered.fetch_add(delivered, std::memory_order_relaxed);
}

void HubLoop::forget(uint64_t connId) {
  auto it = conns_.find(connId);
  if (it == conns_.end()) return;
  if (fanningOut_) graveyard_.push_back(std::move(it->second));
  conns_.erase(it);
}

}  // namespace rtdemo
