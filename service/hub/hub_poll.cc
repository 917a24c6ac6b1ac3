// HubLoop's long polls: parking, answering, and the re-polls of kept-alive
// connections that a loop reads itself (hub_loop.h, step 6, and
// poll_continuation.h for which requests qualify).
//
// A poll connection's Conn::phase (connection.h) is one of:
//   kWaiting    replaying (its Sub's history page is being read) or parked
//               (waiting for a message or its deadline, in pollDeadlines_)
//   kAnswering  its answer is written or being flushed
//   kIdle       answered and flushed, waiting for the client's next request
// While answering or idle, a reusable connection's subscription stays
// registered and collects live messages in Sub::pendingLive, so a re-poll
// from the id it was given is answered from them without reading history.
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "storage/clock.h"
#include "service/protocol/history_page.h"
#include "service/hub/hub_loop.h"
#include "service/protocol/poll_answer.h"
#include "service/hub/prefixed_socket.h"

namespace rtdemo {
namespace {

// Largest poll body a fan-out copies behind its connection's head to send
// it in the batch; a bigger one is written at once from the shared body.
constexpr size_t kBatchedPollBodyMax = 4096;

}  // namespace

bool HubLoop::keepsListening(const Conn& c) const {
  return c.keepAlive && c.reuse.allowed && static_cast<bool>(options_.handBack);
}

void HubLoop::replayPoll(Conn* c, Sub* s, ReplayCmd& cmd, std::vector<LiveEventPtr> pending) {
  s->replaying = false;
  HistoryRead& h = cmd.history;
  std::vector<MessagePtr> batch = std::move(h.messages);
  // One answer holds at most a batch (the page asked for one more, to tell)
  // and what the page budget allows; the client asks again from its end.
  // Live events dropped while reading are in history, not in `pending`.
  bool complete = !cmd.more && !s->liveDropped;
  s->liveDropped = false;
  if (batch.size() > options_.pollMaxBatch) {
    batch.resize(options_.pollMaxBatch);
    complete = false;
  }
  if (!batch.empty()) s->lastSent = batch.back()->id;
  for (const LiveEventPtr& ev : pending) {
    if (!complete) break;
    const Message& m = *ev->message();
    if (s->lastSent && s->lastSent->epoch != m.id.epoch) {
      // A new epoch began while the history was read (a flushed Redis).
      // What follows needs the reset that a history read gives: answer what
      // we have, or a reset that points at the new epoch's start.
      complete = false;
      if (batch.empty()) {
        const uint64_t id = c->id;
        stats_->resets.fetch_add(1, std::memory_order_relaxed);
        answerPollNow(c, {}, MessageId::start(m.id.epoch).toString(), true, m.idText);
        if (conns_.count(id) > 0) unlink(s);
        return;
      }
      break;
    }
    if (!isNew(*s, m)) continue;
    if (batch.size() >= options_.pollMaxBatch) {
      complete = false;
      break;
    }
    batch.push_back(ev->message());
    s->lastSent = m.id;
  }
  if (!batch.empty() || h.reset) {
    std::string lastId = batch.empty() ? cmd.epochStart : batch.back()->idText;
    const uint64_t id = c->id;
    answerPollNow(c, batch, lastId, h.reset, h.oldest);
    // What did not fit is not in pendingLive: the next poll must read it
    // from history, so stop listening (rePoll then re-registers).
    if (!complete && conns_.count(id) > 0) unlink(s);
    return;
  }
  parkPoll(c);
}

void HubLoop::parkPoll(Conn* c) {
  // A timeout of 0 expires at the end of this turn (expirePolls).
  armDeadline(c, clock_.steadyMs() + c->pollTimeoutMs);
}

void HubLoop::armDeadline(Conn* c, int64_t atMs) {
  c->pollDeadlineMs = atMs;
  pollDeadlines_.emplace(atMs, c->id);
  (c->phase == Conn::Phase::kIdle ? stats_->pollsIdle : stats_->pollsParked)
      .fetch_add(1, std::memory_order_relaxed);
}

void HubLoop::disarmDeadline(Conn* c) {
  if (c->pollDeadlineMs == 0) return;
  pollDeadlines_.erase({c->pollDeadlineMs, c->id});
  c->pollDeadlineMs = 0;
  // The phase is still the one it was armed in: every change of phase out
  // of kWaiting or kIdle disarms first.
  (c->phase == Conn::Phase::kIdle ? stats_->pollsIdle : stats_->pollsParked)
      .fetch_sub(1, std::memory_order_relaxed);
}

void HubLoop::livePoll(Conn* c, Sub* s, const LiveEventPtr& event) {
  const Message& m = *event->message();
  if (!isNew(*s, m)) return;
  if (c->answered()) {
    // Between two polls: keep it for the next one. A client that takes
    // longer than a batch to come back is let go; its next poll reads
    // history like a first one.
    s->pendingLive.push_back(event);
    s->pendingBytes += event->sse()->size();
    if (s->pendingLive.size() > options_.pollMaxBatch ||
        s->pendingBytes > options_.maxBufferBytes) {
      unlink(s);
      s->pendingLive.clear();
      s->pendingLive.shrink_to_fit();
      s->pendingBytes = 0;
    }
    return;
  }
  if (s->lastSent && s->lastSent->epoch != m.id.epoch) {
    // Parked across an epoch change (a flushed Redis): the answer says what
    // a resuming poll would be told. The live reader starts the new epoch
    // at its first message, which is therefore the oldest one left.
    stats_->resets.fetch_add(1, std::memory_order_relaxed);
    s->lastSent = m.id;
    answerPollNow(c, {event->message()}, m.idText, true, m.idText);
    return;
  }
  s->lastSent = m.id;
  stats_->delivered.fetch_add(1, std::memory_order_relaxed);
  answerPoll(c, 200, event->pollBody());
}

void HubLoop::answerPollNow(Conn* c, const std::vector<MessagePtr>& messages,
                            const std::string& lastId, bool reset,
                            const std::string& oldest) {
  stats_->delivered.fetch_add(messages.size(), std::memory_order_relaxed);
  answerPoll(c, 200, share(encodePollBody(messages, lastId, reset, oldest)));
}

void HubLoop::answerPoll(Conn* c, int status, const SharedBytes& body) {
  if (c->answered()) return;
  if (!keepsListening(*c)) {
    for (auto& s : c->subs) unlink(s.get());
  }
  disarmDeadline(c);
  c->phase = Conn::Phase::kAnswering;
  stats_->pollsHeld.fetch_sub(1, std::memory_order_relaxed);
  // The head is this connection's (its session, CORS); the body of a live
  // message is shared by every poll it answers.
  std::string head =
      encodeDetachedHead(status, body->size(), c->keepAlive, c->reuse.headers);
  if (canBatch(*c) && body->size() <= kBatchedPollBodyMax) {
    // In a fan-out the answer waits in the batch as one buffer: copying a
    // small body costs less than the system call the batch saves.
    head += *body;
    queueBatched(Batched{c, nullptr, share(std::move(head)), true});
    return;
  }
  afterPollWrite(c, c->out.write(c->fd, share(std::move(head)), body));
}

void HubLoop::afterPollWrite(Conn* c, OutBuffer::Result r) {
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
  c->phase = Conn::Phase::kIdle;
  // Its next request is already waiting, on the socket or taken off it.
  if (c->pipelined || !c->input.empty()) {
    c->pipelined = false;
    updateInterest(c);
    nextPoll(c);
    return;
  }
  // Still registered for EPOLLIN (only a pipelined request turns it off),
  // so the next request wakes the loop without another epoll_ctl.
  armDeadline(c, clock_.steadyMs() + options_.keepAliveIdleMs);
}

void HubLoop::readPollInput(Conn* c) {
  // Whatever a poll client sends is its next request: look whether it is
  // there without consuming it, so that it can still go to the HTTP server.
  if (c->phase == Conn::Phase::kIdle) {
    nextPoll(c);
    return;
  }
  char byte;
  ssize_t n = ::recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    close(c);
    return;
  }
  if (n < 0) return;
  // Sent before its answer (pipelining): read once the answer is out.
  c->pipelined = true;
  updateInterest(c);
}

void HubLoop::nextPoll(Conn* c) {
  Sub* s = c->subs.empty() ? nullptr : c->subs.front().get();
  if (!c->reuse.allowed || !s) {
    handBack(c);
    return;
  }
  // The request is what POCO had read already (Conn::input), then what
  // the socket holds; look at both without consuming either.
  char buf[4096];
  NextPollLimits limits = options_.nextPollLimits;
  limits.maxBytes = std::min(limits.maxBytes, sizeof buf);
  const size_t early = std::min(c->input.size(), limits.maxBytes);
  std::memcpy(buf, c->input.data(), early);
  ssize_t n = 0;
  if (early < limits.maxBytes) {
    n = ::recv(c->fd, buf + early, limits.maxBytes - early, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      close(c);
      return;
    }
    if (n < 0) {
      if (early == 0) return;  // woken for nothing; still idle
      n = 0;
    }
  }
  const size_t have = early + static_cast<size_t>(n);
  NextPoll poll;
  // A head split over several packets is left to the HTTP server, which
  // waits for the rest under its own deadline; so is a poll without a
  // cursor, whose "now" needs the Broker.
  if (parseNextPoll(std::string_view(buf, have), c->reuse.origin, limits, &poll) !=
          NextPollVerdict::kRePoll ||
      poll.channel != s->channel || poll.since.empty()) {
    handBack(c);
    return;
  }
  const size_t fromInput = std::min(poll.length, c->input.size());
  c->input.erase(0, fromInput);
  const size_t fromSocket = poll.length - fromInput;
  if (fromSocket > 0 &&
      ::recv(c->fd, buf, fromSocket, MSG_DONTWAIT) != static_cast<ssize_t>(fromSocket)) {
    close(c);  // the bytes were there a moment ago: the socket is broken
    return;
  }
  stats_->pollsContinued.fetch_add(1, std::memory_order_relaxed);
  rePoll(c, poll);
}

void HubLoop::rePoll(Conn* c, const NextPoll& poll) {
  Sub* s = c->subs.front().get();
  disarmDeadline(c);
  c->phase = Conn::Phase::kWaiting;
  c->keepAlive = poll.keepAlive;
  c->pollCursor = poll.since;
  c->pollTimeoutMs = poll.timeoutSeconds < 0
                         ? options_.pollTimeoutMaxMs
                         : std::min<int64_t>(poll.timeoutSeconds * int64_t{1000},
                                             options_.pollTimeoutMaxMs);
  stats_->pollsHeld.fetch_add(1, std::memory_order_relaxed);

  // The usual case: the client asks from the id it was given, and the
  // subscription has been listening since that answer.
  std::optional<MessageId> since = MessageId::parse(poll.since);
  bool continuous = s->slot != SIZE_MAX && !s->replaying && s->lastSent &&
                    since && *since == *s->lastSent;
  for (const LiveEventPtr& ev : s->pendingLive) {
    // A new epoch (a flushed Redis) needs the reset answer that only a
    // history read gives.
    if (continuous && ev->message()->id.epoch != since->epoch) continuous = false;
  }
  if (continuous) {
    std::vector<MessagePtr> batch;
    for (const LiveEventPtr& ev : s->pendingLive) {
      if (!isNew(*s, *ev->message())) continue;
      batch.push_back(ev->message());
      s->lastSent = ev->message()->id;
    }
    s->pendingLive.clear();
    s->pendingBytes = 0;
    if (!batch.empty()) {
      answerPollNow(c, batch, batch.back()->idText, false, "");
      return;
    }
    parkPoll(c);
    return;
  }
  // Elsewhere, or this loop let go of the channel meanwhile: register again
  // and read the history after `since`, as for a first poll.
  s->pendingLive.clear();
  s->pendingBytes = 0;
  s->lastSent.reset();
  s->liveDropped = false;
  s->replaying = true;
  s->pageInFlight = true;
  if (s->slot == SIZE_MAX) link(s);
  PageRequest r;
  r.connId = c->id;
  r.channel = s->channel;
  r.generation = s->generation;
  r.first = true;
  r.cursor = poll.since;
  r.limit = options_.pollMaxBatch + 1;
  r.budgetBytes = pollPageBudget(options_.maxBufferBytes);
  if (!broker_->readPage(std::move(r), this, true)) {
    s->pageInFlight = false;
    s->replaying = false;
    c->keepAlive = false;
    answerPoll(c, 503, share("{\"error\":\"server busy, try again\"}"));
  }
}

void HubLoop::handBack(Conn* c) {
  detach(c);
  Poco::Net::StreamSocket socket = c->socket;  // shares the descriptor
  std::string unread;
  unread.swap(c->input);
  discard(c);  // the socket stays open through `socket`
  if (!unread.empty()) {
    // POCO must see what we took off the socket before what is still on it.
    socket = Poco::Net::StreamSocket(new PrefixedSocketImpl(
        static_cast<Poco::Net::StreamSocketImpl*>(socket.impl()), std::move(unread)));
  }
  try {
    socket.setBlocking(true);
  } catch (...) {
    return;  // the descriptor is broken; dropping `socket` closes it
  }
  options_.handBack(socket);
}

void HubLoop::expirePolls(int64_t now) {
  while (!pollDeadlines_.empty() && pollDeadlines_.begin()->first <= now) {
    uint64_t id = pollDeadlines_.begin()->second;
    auto it = conns_.find(id);
    if (it == conns_.end()) {
      pollDeadlines_.erase(pollDeadlines_.begin());
      continue;
    }
    Conn* c = it->second.get();
    disarmDeadline(c);
    if (c->phase == Conn::Phase::kIdle) {
      close(c);  // an answered keep-alive connection left unused
      continue;
    }
    // A timeout is not an error: an empty answer, which clients show as a
    // heartbeat, with the cursor they should poll from next.
    answerPollNow(c, {}, c->pollCursor, false, "");
  }
}

}  // namespace rtdemo
