// GET /poll: answer at once when there is something after `since`, otherwise
// park the request in the hub until a message arrives or the timeout passes.
//
// Answers given here keep the connection alive. Parked ones are answered by a
// hub loop on the detached socket, with the headers set here (session, CORS)
// and keeping the connection when the client asked to; the loop may then
// answer the client's next polls on that connection itself (hub_poll.cc).
#include <algorithm>
#include <string>

#include "Poco/NumberParser.h"
#include "service/http/handlers.h"
#include "service/protocol/history_page.h"
#include "service/protocol/http_status.h"
#include "service/http/http_util.h"
#include "service/protocol/poll_answer.h"
#include "service/protocol/validation.h"

namespace rtdemo {

void PollHandler::handle(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response) {
  const HandlerSettings& settings = ctx_->settings;
  RequestSecurity& hooks = *ctx_->requestSecurity;
  Query query;
  std::string channel;
  if (!readSubscribeQuery(request, response, &query, &channel)) return;
  // Private channels are checked before any history is read
  // (request_security.h).
  SubscribeAuth auth;
  if (!hooks.authorizeSubscribe(request, response, channel, Transport::kPoll, &auth)) return;
  int timeout = settings.pollTimeoutSeconds;
  if (query.has("timeout")) {
    int t = 0;
    if (!Poco::NumberParser::tryParse(query.get("timeout"), t) || t < 0) {
      sendError(response, 400, "timeout must be a whole number of seconds");
      return;
    }
    // Longer waits than the server allows are shortened, not refused: the
    // client just polls again sooner.
    timeout = std::min(t, settings.pollTimeoutSeconds);
  }
  std::string since = query.get("since");
  if (std::string why = checkCursor("since", since); !why.empty()) {
    sendError(response, 400, why);
    return;
  }

  Broker& broker = *ctx_->broker;
  std::string cursor = since;
  if (since.empty()) {
    // No cursor: wait for the next message, and hand back a cursor so the
    // client's next poll misses nothing published in between.
    Status s = broker.lastId(channel, &cursor);
    if (!s.ok()) {
      sendError(response, httpStatusFor(s), s.toString());
      return;
    }
  } else {
    HistoryRead read;
    Status s = broker.readAfter(channel, since, settings.pollMaxBatch, &read);
    if (!s.ok()) {
      sendError(response, httpStatusFor(s), s.toString());
      return;
    }
    // As a poll the hub answers: one page (history_page.h).
    trimToBudget(&read.messages, pollPageBudget(settings.streamBufferBytes));
    if (!read.messages.empty() || read.reset) {
      std::string lastId =
          !read.messages.empty() ? read.messages.back()->idText
                                 : MessageId::start(broker.epoch()).toString();
      sendJson(response, 200,
               encodePollBody(read.messages, lastId, read.reset, read.oldest));
      return;
    }
  }
  if (timeout == 0) {
    sendJson(response, 200, encodePollBody({}, cursor));
    return;
  }
  // The hub answers on the detached socket; POCO's session must not try to
  // read another request from it. Whether the client may reuse the
  // connection is the hub's business now.
  if (!hooks.openStream(request, response, auth, channel)) return;
  bool keepAlive = request.getKeepAlive();
  response.setKeepAlive(false);
  // The hub may answer this client's next polls itself when nothing about
  // them needs checking again: a public channel (no token, which could
  // expire) and the same Origin (the same CORS answer), poll_continuation.h.
  PollReuse reuse;
  reuse.allowed = !ctx_->security->isPrivate(channel);
  reuse.origin = request.get("Origin", "");
  reuse.headers = detachedHeaderLines(response);
  DetachedSocket detached = detachSocket(request);
  ctx_->hub->addPoll(detached.socket, channel, cursor,
                     static_cast<int64_t>(timeout) * 1000, keepAlive,
                     std::move(reuse), std::move(detached.buffered), auth.tokenExpiresAt);
}

}  // namespace rtdemo
