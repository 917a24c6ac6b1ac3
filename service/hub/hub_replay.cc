// HubLoop's history replay (hub_loop.h, step 2): a subscription's history
// is read one page at a time off the loop, written as the socket drains, and
// followed by the live events that arrived meanwhile.
//
// A replaying subscription is in one of these states:
//   reading   a page is being read on a worker (Sub::pageInFlight)
//   writing   a page is being written, at most half the buffer limit ahead
//             of what the socket took (Sub::page, pageNext)
//   draining  the page is written; the next one is asked for once the
//             output buffer is empty (afterFlush)
// and it leaves them for live once a page comes back that is not full and
// no live event was dropped since that page was asked for.
//
// Why a dropped live event only costs one more page: every message is stored
// before it is delivered live, so a page asked for after the drop holds it
// (or a reset says it is gone). The flag is cleared when a page is asked
// for and checked when it is written, so a drop that races with the last
// read is covered by another read, never lost.
#include <algorithm>

#include "service/protocol/history_page.h"
#include "service/hub/hub_loop.h"
#include "service/protocol/sse_encoder.h"
#include "service/protocol/ws_protocol.h"

namespace rtdemo {
size_t HubLoop::pageBudget() const { return streamPageBudget(options_.maxBufferBytes); }

void HubLoop::handle(ReplayCmd& cmd) {
  auto it = conns_.find(cmd.connId);
  if (it == conns_.end()) return;  // the client left while we read history
  Conn* c = it->second.get();
  // A subscribe made on the loop counted as in flight until its first page.
  if (c->kind == Conn::Kind::kWebSocket && cmd.first && cmd.generation > 1 && c->inFlight > 0)
    --c->inFlight;
  Sub* s = c->find(cmd.channel);
  // Unsubscribed meanwhile, or subscribed again: this page is for a
  // subscription that no longer exists.
  if (!s || s->generation != cmd.generation || !s->pageInFlight) return;
  s->pageInFlight = false;
  stats_->historyPages.fetch_add(1, std::memory_order_relaxed);
  if (!cmd.error.empty() || cmd.busy) {
    replayFailed(c, s, cmd);
    return;
  }
  applyPage(c, s, cmd);
}

void HubLoop::replayFailed(Conn* c, Sub* s, const ReplayCmd& cmd) {
  const std::string why = cmd.busy ? "server busy, try again" : "history unavailable: " + cmd.error;
  switch (c->kind) {
    case Conn::Kind::kPoll:
      c->keepAlive = false;
      answerPoll(c, 503, share("{\"error\":\"" + why + "\"}"));
      return;
    case Conn::Kind::kStream:
      close(c);  // the browser reconnects with its Last-Event-ID
      return;
    case Conn::Kind::kWebSocket: {
      // The subscription goes first: sending may close the connection.
      const std::string ref = s->ref;
      dropSub(c, s);
      wsSend(c, wsproto::encodeError(why, ref, 503));
      return;
    }
  }
}

void HubLoop::applyPage(Conn* c, Sub* s, ReplayCmd& cmd) {
  HistoryRead& h = cmd.history;
  if (cmd.first) s->lastSent = MessageId::parse(cmd.cursor);
  s->pageLimit = nextPageLimit(h.messages, pageBudget());
  if (h.reset) {
    stats_->resets.fetch_add(1, std::memory_order_relaxed);
    // Later pages are read from the start of the epoch the reset names.
    s->lastSent = MessageId::parse(cmd.epochStart);
  }
  stats_->replayed.fetch_add(h.messages.size(), std::memory_order_relaxed);

  if (c->kind == Conn::Kind::kPoll) {
    std::vector<LiveEventPtr> pending;
    pending.swap(s->pendingLive);
    s->pendingBytes = 0;
    replayPoll(c, s, cmd, std::move(pending));
    return;
  }
  const uint64_t id = c->id;
  if (cmd.first && c->kind == Conn::Kind::kWebSocket) {
    // Only now: "subscribed" promises every message after it, and the live
    // cursor of a subscribe without last_id was taken by the worker.
    wsSend(c, wsproto::encodeSubscribed(s->channel, s->ref));
    if (conns_.count(id) == 0) return;
  }
  if (h.reset) {
    // On any page, not only the first: a slow replay can fall behind the
    // retention that trims the history it is reading.
    if (!write(c, resetNotice(*c, *s, cmd.epochStart, h.oldest, h.resetReason))) return;
  }
  s->page = std::move(h.messages);
  s->pageNext = 0;
  s->morePages = cmd.more;
  pumpHistory(s);
}

bool HubLoop::pumpHistory(Sub* s) {
  Conn* c = s->conn;
  while (s->pageNext < s->page.size()) {
    if (c->out.bytes() > options_.maxBufferBytes / 2) {
      setWantWrite(c, true);  // EPOLLOUT brings us back here
      return true;
    }
    // Released as it is written: what a page holds shrinks as it goes out.
    MessagePtr m = std::move(s->page[s->pageNext++]);
    s->lastSent = m->id;
    stats_->delivered.fetch_add(1, std::memory_order_relaxed);
    if (!write(c, encodeFor(*c, *m))) return false;
  }
  s->page.clear();
  s->page.shrink_to_fit();
  s->pageNext = 0;
  if (s->morePages || s->liveDropped) {
    // The next page only once the socket has taken this one.
    if (!c->out.empty()) {
      setWantWrite(c, true);
      return true;
    }
    requestPage(s);
    return true;
  }
  return goLive(s);
}

void HubLoop::requestPage(Sub* s) {
  Conn* c = s->conn;
  if (!s->lastSent) {  // nothing to read after: only a cut-off is left
    cutOffSlow(c);
    return;
  }
  PageRequest r;
  r.connId = c->id;
  r.channel = s->channel;
  r.generation = s->generation;
  r.cursor = s->lastSent->toString();
  r.limit = std::max<size_t>(1, s->pageLimit);
  r.budgetBytes = pageBudget();
  s->liveDropped = false;
  s->morePages = false;
  s->pageInFlight = true;
  broker_->readPage(std::move(r), this, false);
}

bool HubLoop::goLive(Sub* s) {
  Conn* c = s->conn;
  const uint64_t id = c->id;
  std::vector<LiveEventPtr> pending;
  pending.swap(s->pendingLive);
  s->pendingBytes = 0;
  s->replaying = false;
  for (const LiveEventPtr& ev : pending) {
    if (!sendLive(c, s, ev, false)) return false;
  }
  return conns_.count(id) > 0;
}

void HubLoop::queueWhileReplaying(Sub* s, const LiveEventPtr& ev) {
  s->pendingLive.push_back(ev);
  s->pendingBytes += ev->sse()->size();
  if (s->pendingBytes <= options_.maxBufferBytes) return;
  if (s->lastSent) {
    // Stored before delivered: one more page will hold them (see above).
    s->pendingLive.clear();
    s->pendingLive.shrink_to_fit();
    s->pendingBytes = 0;
    s->liveDropped = true;
    return;
  }
  // No cursor to read after (the backend could not give one): the client
  // resumes from history when it reconnects.
  cutOffSlow(s->conn);
}

}  // namespace rtdemo
