// POST /send: the HTTP side of a publish on a pool thread. It applies the
// request's security hooks, reads the body within its limit, and hands the
// rest to publishSend() (send_publish.h: parsing, the channel rules of every
// element, the asynchronous publish, the answer), which a hub loop serving
// a kept-alive connection calls the same way.
//
// The 201 goes out only after the Broker's completion said OK, which for
// each backend means the message(s) are as durable as it promises
// (committed for SQLite). This thread waits for that completion: it runs on
// a backend thread, and the response belongs to this one.
#include <future>
#include <istream>

#include "service/http/handlers.h"
#include "service/http/http_util.h"
#include "service/http/send_publish.h"

namespace rtdemo {

void SendHandler::handle(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response) {
  SendCounters& counters = ctx_->sends;
  const SendLimits limits = sendLimitsOf(ctx_->settings);
  const size_t limit = sendBodyLimit(limits, request.getContentType());

  // Rate, token and origin checks come before the body is read
  // (request_security.h).
  RequestSecurity& hooks = *ctx_->requestSecurity;
  SendAuth auth;
  if (!hooks.beginSend(request, response, &auth)) return;

  auto tooLarge = [&] {
    counters.tooLarge++;
    // The rest of the body is unread; the connection cannot be reused.
    response.setKeepAlive(false);
    sendError(response, 413,
              "request body too large; it is limited to " + std::to_string(limit) +
                  " bytes (from rtdemo.send.max-bytes and rtdemo.send.batch.max-bytes)");
  };

  if (request.hasContentLength() &&
      request.getContentLength64() > static_cast<Poco::Int64>(limit)) {
    tooLarge();
    return;
  }
  std::string body;
  std::istream& in = request.stream();
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    body.append(buf, static_cast<size_t>(in.gcount()));
    if (body.size() > limit) {
      tooLarge();
      return;
    }
  }
  // A body shorter than its Content-Length was cut off: the client went
  // away, or the handshake deadline shut the connection (guarded_server.h).
  // Publishing what arrived would store a truncated message.
  if (request.hasContentLength() &&
      static_cast<Poco::Int64>(body.size()) != request.getContentLength64()) {
    counters.badRequest++;
    response.setKeepAlive(false);
    sendError(response, 400, "request body is shorter than its Content-Length");
    return;
  }
  hooks.sendBodyRead();

  std::promise<SendAnswer> answered;
  std::future<SendAnswer> answer = answered.get_future();
  publishSend(*ctx_, auth, request.getContentType(), body,
              [&answered](SendAnswer a) { answered.set_value(std::move(a)); });
  SendAnswer a = answer.get();
  for (const auto& [name, value] : a.headers) response.set(name, value);
  if (a.close) response.setKeepAlive(false);
  sendJson(response, a.status, a.json);
}

}  // namespace rtdemo
