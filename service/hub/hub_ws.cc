// The WebSocket side of HubLoop (see hub_loop.h): reading client frames,
// answering the JSON protocol (ws_protocol.h), pings and closing.
//
// Broker calls never run here: a subscribe's history read and a publish's
// commit go to the hub's workers, whose answers come back as ReplayCmd and
// WsAnswerCmd.
#include <errno.h>
#include <sys/socket.h>

#include <algorithm>

#include "storage/clock.h"
#include "service/protocol/history_page.h"
#include "service/hub/hub_loop.h"
#include "service/protocol/ws_protocol.h"

namespace rtdemo {

void HubLoop::readWebSocket(Conn* c) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close(c);
      return;
    }
    if (!consumeWebSocket(c, buf, static_cast<size_t>(n))) return;
  }
}

bool HubLoop::consumeWebSocket(Conn* c, const char* data, size_t n) {
  const uint64_t id = c->id;
  c->lastHeardMs = clock_.steadyMs();
  if (c->phase == Conn::Phase::kEnding) return true;  // a close frame went out: ignore the rest
  std::vector<ws::Message> messages;
  uint16_t code = 0;
  std::string reason;
  bool ok = c->decoder->feed(data, n, &messages, &code, &reason);
  for (ws::Message& m : messages) {
    switch (m.opcode) {
      case ws::kText:
        handleWsText(c, m.payload);
        break;
      case ws::kPing:
        write(c, std::make_shared<const std::string>(ws::encodeFrame(ws::kPong, m.payload)));
        break;
      case ws::kClose: {
        // The client is leaving: answer its close (ws::closeReply checks
        // the code and reason, RFC 6455 5.5.1), then drop the socket.
        ws::CloseReply reply = ws::closeReply(m.payload);
        wsClose(c, reply.code, reply.reason);
        return false;
      }
      default:
        break;  // pongs only prove the peer is alive
    }
    if (conns_.count(id) == 0 || c->phase == Conn::Phase::kEnding) return false;
  }
  if (!ok) {
    wsClose(c, code, reason);
    return false;
  }
  return true;
}

void HubLoop::handleWsText(Conn* c, const std::string& text) {
  wsproto::Command cmd;
  std::string error;
  if (!wsproto::parseCommand(text, options_.sendLimits(), &cmd, &error)) {
    // A bad message gets an error and leaves the connection usable.
    wsSend(c, wsproto::encodeError(error, cmd.ref, cmd.errorStatus, cmd.errorIndex));
    return;
  }
  switch (cmd.type) {
    case wsproto::Command::Type::kSubscribe: {
      if (c->find(cmd.channel)) {
        wsSend(c, wsproto::encodeError("already subscribed to " + cmd.channel, cmd.ref));
        return;
      }
      if (c->subs.size() >= options_.wsMaxSubscriptions) {
        wsSend(c, wsproto::encodeError("too many subscriptions on one connection", cmd.ref));
        return;
      }
      std::optional<int64_t> expiresAt;
      if (c->gate) {
        WsGate::Answer a = c->gate->maySubscribe(cmd.channel);
        if (a.status != 0) {
          wsSend(c, wsproto::encodeError(a.error, cmd.ref, a.status));
          return;
        }
        expiresAt = a.expiresAt;
      }
      if (!wsAdmit(c, cmd, true)) return;
      // Register first, then read history (hub_loop.h, step 1). The feed's
      // Broker subscription and the reads run off the loop (hub.h).
      c->subs.push_back(std::make_unique<Sub>(c, cmd.channel, nextGeneration()));
      Sub* s = c->subs.back().get();
      s->ref = cmd.ref;
      s->expiresSteadyMs = expiryDeadline(clock_, expiresAt, options_.tokenLeewaySeconds);
      link(s);
      scheduleExpiry(c);
      PageRequest r;
      r.connId = c->id;
      r.channel = cmd.channel;
      r.generation = s->generation;
      r.first = true;
      r.cursor = cmd.lastId;
      r.resolveNow = cmd.lastId.empty();
      r.limit = kFirstPageMessages;
      r.budgetBytes = pageBudget();
      if (!broker_->subscribe(std::move(r), this)) {
        --c->inFlight;
        unlink(s);
        c->subs.pop_back();
        wsSend(c, wsproto::encodeError("server busy, try again", cmd.ref, 503));
        return;
      }
      // "subscribed" goes out with the first page (hub_replay.cc).
      return;
    }
    case wsproto::Command::Type::kUnsubscribe: {
      Sub* s = c->find(cmd.channel);
      if (!s) {
        wsSend(c, wsproto::encodeError("not subscribed to " + cmd.channel, cmd.ref));
        return;
      }
      dropSub(c, s);
      wsSend(c, wsproto::encodeUnsubscribed(cmd.channel, cmd.ref));
      return;
    }
    case wsproto::Command::Type::kPublish: {
      if (c->gate && cmd.batch.batch) {
        // Every element's channel, all or nothing (send_batch.h).
        std::vector<std::string> channels;
        channels.reserve(cmd.batch.messages.size());
        for (const SendRequest& m : cmd.batch.messages) channels.push_back(m.channel);
        size_t index = 0;
        WsGate::Answer a = c->gate->mayPublishAll(channels, &index);
        if (a.status != 0) {
          wsSend(c, wsproto::encodeError("message " + std::to_string(index) + ": " + a.error,
                                         cmd.ref, a.status, static_cast<long>(index)));
          return;
        }
      } else if (c->gate) {
        WsGate::Answer a = c->gate->mayPublish(cmd.channel);
        if (a.status != 0) {
          wsSend(c, wsproto::encodeError(a.error, cmd.ref, a.status));
          return;
        }
      }
      if (!wsAdmit(c, cmd, false)) return;
      const std::string ref = cmd.ref;
      if (!broker_->publish(c->id, std::move(cmd), this)) {
        --c->inFlight;
        wsSend(c, wsproto::encodeError("server busy, try again", ref, 503));
      }
      return;
    }
  }
}

bool HubLoop::wsAdmit(Conn* c, const wsproto::Command& cmd, bool subscribe) {
  // Per connection, so that one client looping subscribe and unsubscribe
  // (or flooding publishes) cannot fill the workers' queue that every
  // other client's subscribes and acks go through.
  if (c->inFlight >= options_.wsInFlightMax) {
    wsSend(c, wsproto::encodeError("too many requests in flight on this connection; wait for their answers",
                                   cmd.ref, 429));
    return false;
  }
  if (subscribe) {
    const int64_t now = clock_.steadyMs();
    const double burst = static_cast<double>(options_.wsMaxSubscriptions);
    c->subscribeTokens = std::min(
        burst, c->subscribeTokens + static_cast<double>(now - c->subscribeRefillMs) / 1000.0 *
                                        options_.wsSubscribeRate);
    c->subscribeRefillMs = now;
    if (c->subscribeTokens < 1) {
      wsSend(c, wsproto::encodeError("too many subscribes on this connection; slow down", cmd.ref, 429));
      return false;
    }
    c->subscribeTokens -= 1;
  }
  ++c->inFlight;
  return true;
}

void HubLoop::handle(WsAnswerCmd& cmd) {
  auto it = conns_.find(cmd.connId);
  if (it == conns_.end()) return;  // left before its publish was stored
  Conn* c = it->second.get();
  if (cmd.settles && c->inFlight > 0) --c->inFlight;
  write(c, cmd.frame);
}

void HubLoop::wsSend(Conn* c, const std::string& json) {
  write(c, std::make_shared<const std::string>(ws::encodeFrame(ws::kText, json)));
}

void HubLoop::wsClose(Conn* c, uint16_t code, const std::string& reason) {
  if (c->phase == Conn::Phase::kEnding) return;
  if (!write(c, std::make_shared<const std::string>(ws::encodeClose(code, reason)))) return;
  c->phase = Conn::Phase::kEnding;
  if (c->out.empty()) close(c);  // else afterFlush() closes it
}

void HubLoop::wsHeartbeat(Conn* c, const SharedBytes& heartbeat, const SharedBytes& ping,
                          int64_t now) {
  // Three heartbeats without a frame from the peer, not even a pong: it is
  // gone without a FIN (a dead network path), so stop holding its socket.
  if (now - c->lastHeardMs > 3 * 1000 * static_cast<int64_t>(options_.heartbeatSeconds)) {
    close(c);
    return;
  }
  if (write(c, heartbeat)) write(c, ping);
}

}  // namespace rtdemo
