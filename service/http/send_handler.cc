// POST /send: validate, store through the Broker, answer 201 with the id.
//
// The 201 goes out only after Broker::publish returned OK, which for each
// backend means the message is as durable as it promises (committed for
// SQLite). Live delivery happens inside publish, on the Broker's side.
#include <chrono>
#include <istream>

#include "Poco/Logger.h"
#include "service/http/handlers.h"
#include "service/http/http_util.h"
#include "service/protocol/http_status.h"
#include "service/protocol/json_writer.h"
#include "service/protocol/send_request.h"

namespace rtdemo {
namespace {

// Form encoding can triple a byte (%XX), so the body may be larger than the
// data limit; anything past this is refused before it is read.
size_t bodyLimit(size_t maxDataBytes) { return maxDataBytes * 3 + 4096; }

}  // namespace

void SendHandler::handle(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response) {
  SendCounters& counters = ctx_->sends;
  const size_t maxData = ctx_->settings.sendMaxBytes;
  const size_t limit = bodyLimit(maxData);

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
              "request body too large; data is limited to " +
                  std::to_string(maxData) + " bytes (rtdemo.send.max-bytes)");
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

  SendRequest parsed;
  SendParse result = parseSendBody(request.getContentType(), body, maxData, &parsed);
  if (result.status != 0) {
    (result.status == 413 ? counters.tooLarge : counters.badRequest)++;
    sendError(response, result.status, result.error);
    return;
  }
  if (!hooks.authorizeSend(auth, parsed.channel, response)) return;

  MessagePtr stored;
  auto started = std::chrono::steady_clock::now();
  Status s = ctx_->broker->publish(parsed.channel, parsed.event, parsed.data, &stored);
  // Failed publishes count too: a Redis timeout is latency a publisher felt.
  ctx_->publishLatency.observe(std::chrono::steady_clock::now() - started);
  if (s.code() == Status::Code::kConflict) {
    // A closed Durable Stream refuses /send: the client's error, not the backend's.
    sendError(response, 409, s.message());
    return;
  }
  if (!s.ok()) {
    counters.backendErrors++;
    int code = httpStatusFor(s);
    (code == 503 ? counters.unavailable : counters.failed)++;
    Poco::Logger::get("rtdemo").warning(
        "publish to channel %s from %s failed: %s", parsed.channel,
        auth.address, s.toString());
    if (code == 503) response.set("Retry-After", "1");
    sendError(response, code, s.toString());
    return;
  }
  counters.created++;
  JsonWriter json;
  json.beginObject();
  json.key("id");
  json.string(stored->idText);
  json.key("channel");
  json.string(stored->channel);
  json.endObject();
  sendJson(response, 201, json.str());
}

}  // namespace rtdemo
