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
#include "service/hub.h"
#include "service/hub_loop.h"
#include "service/ws_protocol.h"

namespace rtdemo {

void HubLoop::readWebSocket(Conn* c) {
  const uint64_t id = c->id;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      close(c);
      return;
    }
    c->lastHeardMs = steadyMs();
    if (c->closing) continue;  // a close frame went out: ignore the rest
    std::vector<ws::Message> messages;
    uint16_t code = 0;
    std::string reason;
    bool ok = c->decoder->feed(buf, static_cast<size_t>(n), &messages, &code, &reason);
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
          return;
        }
        default:
          break;  // pongs only prove the peer is alive
      }
      if (conns_.count(id) == 0 || c->closing) return;
    }
    if (!ok) {
      wsClose(c, code, reason);
      return;
    }
  }
}

void HubLoop::handleWsText(Conn* c, const std::string& text) {
  wsproto::Command cmd;
  std::string error;
  if (!wsproto::parseCommand(text, options_.sendMaxBytes, &cmd, &error)) {
    // A bad message gets an error and leaves the connection usable.
    wsSend(c, wsproto::encodeError(error, cmd.ref, cmd.errorStatus));
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
      if (c->gate) {
        WsGate::Answer a = c->gate->maySubscribe(cmd.channel);
        if (a.status != 0) {
          wsSend(c, wsproto::encodeError(a.error, cmd.ref, a.status));
          return;
        }
      }
      // Register first, then read history (hub_loop.h, step 1).
      c->subs.push_back(std::make_unique<Sub>(c, cmd.channel));
      c->subs.back()->ref = cmd.ref;
      link(c->subs.back().get());
      hub_->acquireFeed(cmd.channel);
      // "subscribed" goes out with the replay (HubLoop::handle(ReplayCmd)).
      hub_->replayLater(this, c->id, cmd.channel, cmd.lastId);
      return;
    }
    case wsproto::Command::Type::kUnsubscribe: {
      Sub* s = c->find(cmd.channel);
      if (!s) {
        wsSend(c, wsproto::encodeError("not subscribed to " + cmd.channel, cmd.ref));
        return;
      }
      unlink(s);
      c->subs.erase(std::find_if(c->subs.begin(), c->subs.end(),
                                 [s](const std::unique_ptr<Sub>& p) { return p.get() == s; }));
      hub_->releaseFeed(cmd.channel);
      wsSend(c, wsproto::encodeUnsubscribed(cmd.channel, cmd.ref));
      return;
    }
    case wsproto::Command::Type::kPublish:
      if (c->gate) {
        WsGate::Answer a = c->gate->mayPublish(cmd.channel);
        if (a.status != 0) {
          wsSend(c, wsproto::encodeError(a.error, cmd.ref, a.status));
          return;
        }
      }
      hub_->publishLater(this, c->id, std::move(cmd));
      return;
  }
}

void HubLoop::handle(WsAnswerCmd& cmd) {
  auto it = conns_.find(cmd.connId);
  if (it == conns_.end()) return;  // left before its publish was stored
  write(it->second.get(), cmd.frame);
}

void HubLoop::wsSend(Conn* c, const std::string& json) {
  write(c, std::make_shared<const std::string>(ws::encodeFrame(ws::kText, json)));
}

void HubLoop::wsClose(Conn* c, uint16_t code, const std::string& reason) {
  if (c->closing) return;
  if (!write(c, std::make_shared<const std::string>(ws::encodeClose(code, reason)))) return;
  c->closing = true;
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
