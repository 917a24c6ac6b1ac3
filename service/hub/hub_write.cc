// HubLoop's writing: every byte a loop sends goes through write() (now, or
// queued in the connection's OutBuffer when the socket is full) or, in a
// fan-out or heartbeat round, through writeBatched() into one io_uring
// submission (batch_sender.h). A connection whose unsent bytes pass the
// buffer limit is cut off here (hub_loop.h, step 4).
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>

#include "Poco/Logger.h"
#include "service/hub/hub_loop.h"

namespace rtdemo {

bool HubLoop::write(Conn* c, const SharedBytes& bytes) {
  if (!c->writable()) return true;
  return afterWrite(c, c->out.write(c->fd, bytes));
}

bool HubLoop::afterWrite(Conn* c, OutBuffer::Result r) {
  if (r == OutBuffer::Result::kError) {
    close(c);
    return false;
  }
  if (r == OutBuffer::Result::kBlocked) {
    if (c->out.bytes() > options_.maxBufferBytes) {
      cutOffSlow(c);
      return false;
    }
    setWantWrite(c, true);
  }
  return true;
}

void HubLoop::writeBatched(Conn* c, const SharedBytes& bytes) {
  if (c->inBatch) {
    // Not expected (one send per connection per round), but its earlier
    // send must be settled before anything follows it on the socket.
    const uint64_t id = c->id;
    flushBatch();
    if (conns_.count(id) == 0) return;
  }
  if (!c->writable() || !canBatch(*c)) {
    write(c, bytes);
    return;
  }
  queueBatched(Batched{c, &bytes, nullptr, false});
}

void HubLoop::queueBatched(Batched b) {
  b.conn->inBatch = true;
  batch_->add(b.conn->fd, b.owned ? *b.owned : **b.bytes, batched_.size());
  batched_.push_back(std::move(b));
  if (batch_->full()) flushBatch();
}

bool HubLoop::canBatch(const Conn& c) const {
  // Something already queued must go first, through the OutBuffer.
  return batch_ && fanningOut_ && !flushing_ && !c.inBatch && c.out.empty();
}

void HubLoop::flushBatch() {
  if (!batch_ || batch_->empty()) return;
  // An outcome may answer a connection's next poll at once; that write goes
  // straight out rather than into the batch being reported.
  flushing_ = true;
  batch_->submit([this](uint64_t tag, int result) {
    const Batched& b = batched_[tag];
    Conn* c = b.conn;
    c->inBatch = false;
    guarded(c->id, "a batched send", [&] {
      OutBuffer::Result r = c->out.settle(b.owned ? b.owned : *b.bytes, result);
      if (b.pollAnswer)
        afterPollWrite(c, r);
      else
        afterWrite(c, r);
    });
  });
  flushing_ = false;
  batched_.clear();
  if (!batch_->usable()) {
    Poco::Logger::get("rtdemo").error(
        "io_uring failed during a fan-out; this hub loop now sends with one send() per socket");
    batch_.reset();
    stats_->batchingLoops.fetch_sub(1, std::memory_order_relaxed);
  }
}

void HubLoop::cutOffSlow(Conn* c) {
  // A subscriber that cannot keep up would make us hold an unbounded
  // backlog; it resumes from history when it reconnects.
  stats_->slowDisconnects.fetch_add(1, std::memory_order_relaxed);
  close(c);
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

void HubLoop::afterFlush(Conn* c) {
  setWantWrite(c, false);
  if (c->phase == Conn::Phase::kAnswering) {
    finishAnswered(c);
    return;
  }
  if (c->phase == Conn::Phase::kEnding) {
    close(c);
    return;
  }
  // A replay waits for the socket to drain before its next page. Indexes,
  // not iterators: pumping may end a subscription's replay but never adds
  // or removes one.
  for (size_t i = 0; i < c->subs.size(); ++i) {
    Sub* s = c->subs[i].get();
    if (s->replaying && !s->pageInFlight && c->kind != Conn::Kind::kPoll) {
      if (!pumpHistory(s)) return;
    }
  }
}

}  // namespace rtdemo
