// HubLoop's token expiry: a subscription to a private channel ends when the
// token that allowed it expires (its `exp`), instead of streaming for as
// long as the connection lives.
//
// Every check happens when a subscription is made (security.h); this is
// the one check that must happen later. Each connection has at most one
// entry in expiries_, its earliest deadline among its subscriptions, kept
// in Conn::expiryKey so that letting the connection go removes it. At the
// deadline:
//   SSE        a "token-expired" event, then the stream ends; EventSource
//              reconnects with its Last-Event-ID and is checked afresh.
//   long poll  a parked poll is answered 401 {"error":"token expired"}.
//   WebSocket  each expired subscription ends with an "expired" message;
//              the connection and its other subscriptions go on.
// The deadline is exp plus the verifier's leeway, when the token stops
// being accepted. Deadlines are kept on the steady clock, converted once
// from the token's wall-clock exp when the subscription is made.
#include "service/hub/hub_loop.h"
#include "service/protocol/sse_encoder.h"
#include "service/protocol/ws_protocol.h"
#include "storage/clock.h"

namespace rtdemo {
int64_t expiryDeadline(const HubClock& clock, std::optional<int64_t> expiresAtSeconds,
                       int leewaySeconds) {
  if (!expiresAtSeconds) return 0;
  int64_t left = (*expiresAtSeconds + leewaySeconds) * 1000 - clock.wallMs();
  // 0 means "never": an expired token still gets a deadline, in the past.
  return std::max<int64_t>(1, clock.steadyMs() + left);
}

void HubLoop::scheduleExpiry(Conn* c) {
  int64_t earliest = 0;
  for (const auto& s : c->subs) {
    if (s->expiresSteadyMs != 0 && (earliest == 0 || s->expiresSteadyMs < earliest))
      earliest = s->expiresSteadyMs;
  }
  if (earliest == c->expiryKey) return;
  if (c->expiryKey != 0) expiries_.erase({c->expiryKey, c->id});
  c->expiryKey = earliest;
  if (earliest != 0) expiries_.emplace(earliest, c->id);
}

void HubLoop::expireTokens(int64_t now) {
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    const uint64_t id = expiries_.begin()->second;
    expiries_.erase(expiries_.begin());
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Conn* c = it->second.get();
    c->expiryKey = 0;
    guarded(id, "a token expiry", [&] { endExpired(c, now); });
  }
}

void HubLoop::endExpired(Conn* c, int64_t now) {
  switch (c->kind) {
    case Conn::Kind::kStream: {
      const std::string channel = c->subs.front()->channel;
      stats_->tokenExpiries.fetch_add(1, std::memory_order_relaxed);
      if (!write(c, share(sse::encodeTokenExpired(channel)))) return;
      c->phase = Conn::Phase::kEnding;  // afterFlush() closes it once the event is out
      if (c->out.empty()) close(c);
      return;
    }
    case Conn::Kind::kPoll:
      // An answered poll of a private channel is never reused by the hub:
      // its next request goes back to the HTTP server, which checks again.
      if (c->answered()) return;
      stats_->tokenExpiries.fetch_add(1, std::memory_order_relaxed);
      c->keepAlive = false;
      answerPoll(c, 401, share("{\"error\":\"token expired\"}"));
      return;
    case Conn::Kind::kWebSocket: {
      const uint64_t id = c->id;
      for (size_t i = 0; i < c->subs.size();) {
        Sub* s = c->subs[i].get();
        if (s->expiresSteadyMs == 0 || s->expiresSteadyMs > now) {
          ++i;
          continue;
        }
        const std::string channel = s->channel;
        stats_->tokenExpiries.fetch_add(1, std::memory_order_relaxed);
        dropSub(c, s);
        wsSend(c, wsproto::encodeExpired(channel));
        if (conns_.count(id) == 0) return;
      }
      scheduleExpiry(c);
      return;
    }
  }
}

}  // namespace rtdemo
