// PUT /v1/stream/{name} with Stream-Forked-From: creating a fork
// (docs/durable-streams.md, "Forks"). The headers are parsed here
// (service/streams/), the source looked up, what the fork inherits
// resolved (content type, lifetime, the fork point), and a sub-offset's
// prefix materialised from the source's history; then the Broker checks
// it all again and creates the fork in one atomic step (createFork), so a
// source deleted meanwhile is still refused.
//
// Thread safety: one handler per request, on a pool thread.
#include <optional>

#include "service/http/http_util.h"
#include "service/http/streams_handler.h"
#include "service/streams/offset.h"
#include "service/streams/stream_headers.h"
#include "storage/stream_read.h"

namespace rtdemo {

void StreamHandler::createFork(Poco::Net::HTTPServerRequest& request,
                               Poco::Net::HTTPServerResponse& response, StreamConfig config,
                               StreamAppend initial, std::string body) {
  ForkSpec fork;
  if (std::string why = parseForkSource(request.get("Stream-Forked-From"), &fork.source);
      !why.empty()) {
    sendError(response, 400, why);
    return;
  }
  if (request.has("Stream-Fork-Sub-Offset")) {
    if (std::string why = parseSubOffset(request.get("Stream-Fork-Sub-Offset"),
                                         &fork.subOffset);
        !why.empty()) {
      sendError(response, 400, why);
      return;
    }
  }
  fork.pointGiven = request.has("Stream-Fork-Offset");
  if (fork.subOffset > 0 && !fork.pointGiven) {
    sendError(response, 400, "Stream-Fork-Sub-Offset needs Stream-Fork-Offset");
    return;
  }
  ParsedOffset offset;
  offset.kind = ParsedOffset::kNow;  // the default: the source's tail
  if (fork.pointGiven) {
    offset = parseOffset(request.get("Stream-Fork-Offset"));
    if (offset.kind == ParsedOffset::kMalformed) {
      sendError(response, 400, "Stream-Fork-Offset: malformed offset: " + offset.reason);
      return;
    }
  }

  Broker& broker = *ctx_->broker;
  StreamInfo source;
  bool exists = false;
  if (backendFailed(broker.streamInfo(fork.source, &source, &exists), response, "fork"))
    return;
  if (!exists) {
    sendError(response, 404, "no fork source stream " + fork.source);
    return;
  }
  if (source.softDeleted) {
    sendError(response, 409, "the fork source was deleted; it cannot be forked again");
    return;
  }
  if (config.contentType.empty()) config.contentType = source.config.contentType;
  if (!request.has("Stream-TTL") && !request.has("Stream-Expires-At")) {
    config.ttlSeconds = source.config.ttlSeconds;
    config.expiresAtMs = source.config.expiresAtMs;
  }
  std::optional<MessageId> start = MessageId::parse(source.startId);
  std::optional<MessageId> tail = MessageId::parse(source.tailId);
  if (!start || !tail) {
    sendError(response, 500, "stream " + fork.source + " has malformed bounds");
    return;
  }
  MessageId point = offset.kind == ParsedOffset::kStart ? *start
                    : offset.kind == ParsedOffset::kNow ? *tail
                                                        : offset.id;
  if (point.epoch != tail->epoch || point < *start || *tail < point) {
    sendError(response, 400, "Stream-Fork-Offset is not in the source's history");
    return;
  }
  fork.pointId = point.toString();

  if (!initialMessages(config, std::move(body), &initial, response)) return;
  if (fork.subOffset > 0) {
    // The prefix of what follows the fork point becomes the fork's first
    // own message(s): bytes of the next message, or the next JSON messages.
    bool json = config.contentType == "application/json";
    size_t want = json ? static_cast<size_t>(fork.subOffset) : 1;
    StreamHistory next;
    if (backendFailed(readStreamHistory(broker, fork.source, source, point, want, &next),
                      response, "fork"))
      return;
    if (next.gone) {
      sendError(response, 410, "fork source history is gone: " + next.reason);
      return;
    }
    std::vector<std::string> prefix;
    if (json) {
      if (next.messages.size() < want) {
        sendError(response, 400, "Stream-Fork-Sub-Offset is beyond the messages after the "
                                 "fork offset");
        return;
      }
      for (const MessagePtr& m : next.messages) prefix.push_back(m->data);
    } else {
      if (next.messages.empty() ||
          next.messages[0]->data.size() < static_cast<uint64_t>(fork.subOffset)) {
        sendError(response, 400, "Stream-Fork-Sub-Offset is beyond the append after the "
                                 "fork offset");
        return;
      }
      prefix.push_back(next.messages[0]->data.substr(0, static_cast<size_t>(fork.subOffset)));
    }
    initial.messages.insert(initial.messages.begin(), prefix.begin(), prefix.end());
  }

  StreamResult result;
  if (backendFailed(broker.createFork(name_, config, fork, initial, &result), response,
                    "fork"))
    return;
  answerCreate(request, response, config, result);
}

}  // namespace rtdemo
