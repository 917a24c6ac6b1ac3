// PUT /v1/stream/{name}: creating a stream (docs/durable-streams.md), its
// configuration and initial body parsed here, and the answer to a create or
// a fork (streams_fork.cc) for every outcome the Broker decides.
//
// Thread safety: one handler per request, on a pool thread.
#include "service/http/http_util.h"
#include "service/http/streams_handler.h"
#include "service/streams/json_messages.h"
#include "service/streams/stream_headers.h"

namespace rtdemo {
namespace {

constexpr const char* kNextOffset = "Stream-Next-Offset";
constexpr const char* kClosedHeader = "Stream-Closed";
constexpr const char* kForkedFrom = "Stream-Forked-From";
constexpr const char* kForkOffset = "Stream-Fork-Offset";
constexpr const char* kForkSubOffset = "Stream-Fork-Sub-Offset";

}  // namespace

void StreamHandler::create(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) {
  RequestSecurity& hooks = *ctx_->requestSecurity;
  SendAuth auth;
  if (!hooks.beginSend(request, response, &auth)) return;
  // The body first: an answer that left it unread would have the next
  // request on this connection parsed from its bytes.
  std::string body;
  if (!readBody(request, response, &body)) return;
  bool forked = request.has(kForkedFrom);
  if (!forked && (request.has(kForkOffset) || request.has(kForkSubOffset))) {
    sendError(response, 400, std::string(kForkOffset) + " and " + kForkSubOffset +
                                 " need " + kForkedFrom);
    return;
  }
  StreamConfig config;
  // A fork without them takes its source's content type and lifetime.
  config.contentType = forked ? "" : config.contentType;
  if (request.has("Content-Type")) {
    config.contentType = normaliseContentType(request.getContentType());
    if (config.contentType.empty()) {
      sendError(response, 400, "Content-Type is not a media type");
      return;
    }
  }
  std::optional<std::string> ttl = header(request, "Stream-TTL");
  std::optional<std::string> expires = header(request, "Stream-Expires-At");
  if (ttl && expires) {
    sendError(response, 400, "Stream-TTL and Stream-Expires-At exclude each other");
    return;
  }
  if (ttl) {
    if (std::string why = parseTtl(*ttl, &config.ttlSeconds); !why.empty()) {
      sendError(response, 400, "Stream-TTL: " + why);
      return;
    }
  }
  if (expires) {
    if (std::string why = parseRfc3339(*expires, &config.expiresAtMs); !why.empty()) {
      sendError(response, 400, "Stream-Expires-At: " + why);
      return;
    }
  }
  StreamAppend initial;
  if (std::string why = parseFlag(header(request, kClosedHeader), &initial.close);
      !why.empty()) {
    sendError(response, 400, std::string(kClosedHeader) + ": " + why);
    return;
  }
  if (!hooks.authorizeSend(auth, name_, response)) return;
  if (forked) {
    createFork(request, response, config, std::move(initial), std::move(body));
    return;
  }
  if (!initialMessages(config, std::move(body), &initial, response)) return;

  StreamResult result;
  if (backendFailed(ctx_->broker->createStream(name_, config, initial, &result),
                    response, "create"))
    return;
  answerCreate(request, response, config, result);
}

bool StreamHandler::initialMessages(const StreamConfig& config, std::string body,
                                    StreamAppend* initial,
                                    Poco::Net::HTTPServerResponse& response) {
  initial->contentType = config.contentType;
  initial->event = isTextContentType(config.contentType) ? "" : "binary";
  if (body.empty()) return true;
  if (config.contentType != "application/json") {
    initial->messages.push_back(std::move(body));
    return true;
  }
  JsonMessages split = splitJsonBody(body, /*allowEmptyArray=*/true);
  if (!split.error.empty()) {
    sendError(response, 400, "body is not valid JSON: " + split.error);
    return false;
  }
  for (std::string& m : split.messages) initial->messages.push_back(std::move(m));
  return true;
}

void StreamHandler::answerCreate(Poco::Net::HTTPServerRequest& request,
                                 Poco::Net::HTTPServerResponse& response,
                                 const StreamConfig& config, const StreamResult& result) {
  switch (result.outcome) {
    case StreamOutcome::kOk:
    case StreamOutcome::kExists: {
      response.set("Content-Type", config.contentType);
      response.set(kNextOffset, offsetOf(result.tailId));
      if (result.closed) response.set(kClosedHeader, "true");
      bool created = result.outcome == StreamOutcome::kOk;
      if (created)
        response.set("Location", "http://" + request.getHost() + request.getURI().substr(
                                     0, request.getURI().find('?')));
      response.setStatusAndReason(created ? Poco::Net::HTTPResponse::HTTP_CREATED
                                 : Poco::Net::HTTPResponse::HTTP_OK);
      response.setContentLength(0);
      response.send();
      return;
    }
    case StreamOutcome::kConfigConflict:
      sendError(response, 409, "stream " + name_ + " exists with another configuration");
      return;
    case StreamOutcome::kGone:
      sendError(response, 409, "stream " + name_ +
                                   " was deleted but forks still read it; the name cannot "
                                   "be reused until they are gone");
      return;
    case StreamOutcome::kSourceNotFound:
      sendError(response, 404, "no fork source stream");
      return;
    case StreamOutcome::kSourceGone:
      sendError(response, 409, "the fork source was deleted; it cannot be forked again");
      return;
    case StreamOutcome::kContentTypeMismatch:
      sendError(response, 409, "Content-Type " + config.contentType +
                                   " is not the fork source's");
      return;
    case StreamOutcome::kForkPointInvalid:
      sendError(response, 400, "Stream-Fork-Offset is not in the source's history");
      return;
    default:
      sendError(response, 500, "unexpected outcome of create");
      return;
  }
}


}  // namespace rtdemo
