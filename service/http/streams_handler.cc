// /v1/stream/{name}: the Durable Streams protocol over HTTP
// (docs/durable-streams.md). PUT creates (streams_create.cc, forks in
// streams_fork.cc), POST appends (with Stream-Seq and
// idempotent producers), DELETE removes, HEAD answers the metadata, GET
// reads: catch-up here, and a long poll or an SSE reader that has to wait is
// handed to the hub with its socket (streams_read.cc), so no pool thread is
// held by a waiting reader.
//
// Everything is stored through the Broker's stream operations
// (storage/stream.h): a stream is a channel with metadata, so an append is
// delivered live to /events, /poll and /ws subscribers of the channel like a
// /send. Headers and bodies are parsed by service/streams/ before anything
// is stored; a refusal is the status the protocol names with
// {"error": reason}, and changes nothing.
//
// Thread safety: one handler per request, on a pool thread; the Broker and
// the hub are safe to call from any thread.
#include "service/http/streams_handler.h"

#include <algorithm>
#include <istream>
#include <random>

#include "Poco/Logger.h"
#include "Poco/URI.h"
#include "service/http/http_util.h"
#include "service/http/streams_read.h"
#include "service/protocol/http_status.h"
#include "service/protocol/validation.h"
#include "service/streams/json_messages.h"
#include "service/streams/offset.h"
#include "service/streams/stream_cursor.h"
#include "service/streams/stream_headers.h"
#include "storage/clock.h"

namespace rtdemo {
namespace {

constexpr const char* kNextOffset = "Stream-Next-Offset";
constexpr const char* kUpToDate = "Stream-Up-To-Date";
constexpr const char* kClosedHeader = "Stream-Closed";
// How much of a too-large body is read and dropped before the 413.
constexpr size_t kDrainBytes = 64 << 20;

// The headers a client may send and read across origins (CORS): those of
// the protocol, which a browser would otherwise hide or refuse.
constexpr const char* kExposed =
    "Stream-Next-Offset, Stream-Up-To-Date, Stream-Cursor, Stream-Closed, "
    "Stream-TTL, Stream-Expires-At, Stream-SSE-Data-Encoding, Producer-Epoch, "
    "Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, ETag, Location";
constexpr const char* kAllowedRequestHeaders =
    "Content-Type, Stream-Seq, Stream-TTL, Stream-Expires-At, Stream-Closed, "
    "Producer-Id, Producer-Epoch, Producer-Seq, If-None-Match, Authorization, "
    "Stream-Forked-From, Stream-Fork-Offset, Stream-Fork-Sub-Offset";


int64_t cursorJitter() {
  thread_local std::mt19937 rng(std::random_device{}());
  return std::uniform_int_distribution<int64_t>(1, 180)(rng);
}

}  // namespace

std::optional<std::string> header(const Poco::Net::HTTPServerRequest& request,
                                  const std::string& name) {
  if (!request.has(name)) return std::nullopt;
  return request.get(name);
}

std::string offsetOf(const std::string& idText) {
  std::optional<MessageId> id = MessageId::parse(idText);
  return id ? renderOffset(*id) : std::string();
}

void addStreamCommonHeaders(const Poco::Net::HTTPServerRequest& request,
                            Poco::Net::HTTPServerResponse& response,
                            RequestSecurity& hooks) {
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Cross-Origin-Resource-Policy", "cross-origin");
  hooks.addCorsHeaders(request, response);
  if (response.has("Access-Control-Allow-Origin"))
    response.set("Access-Control-Expose-Headers", kExposed);
}

std::string streamCursorFor(const std::string& clientCursor) {
  return nextStreamCursor(nowMs(), clientCursor, cursorJitter());
}

void StreamHandler::handle(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) {
  addStreamCommonHeaders(request, response, *ctx_->requestSecurity);
  const std::string& method = request.getMethod();
  if (method == "OPTIONS") {
    // The preflight: what the protocol's requests send. Allow-Origin is
    // there only for an origin rtdemo.cors.origins lists (cors.h).
    response.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    response.set("Access-Control-Allow-Headers", kAllowedRequestHeaders);
    response.set("Access-Control-Max-Age", "600");
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
    response.setContentLength(0);
    response.send();
    return;
  }
  if (std::string why = checkChannelName(name_); !why.empty()) {
    sendError(response, 400, "stream name: " + why);
    return;
  }
  if (method == "PUT") return create(request, response);
  if (method == "POST") return append(request, response);
  if (method == "DELETE") return remove(request, response);
  if (method == "HEAD") return head(request, response);
  return read(request, response);
}

bool StreamHandler::readBody(Poco::Net::HTTPServerRequest& request,
                             Poco::Net::HTTPServerResponse& response,
                             std::string* body) {
  const size_t limit = ctx_->settings.streamMaxBytes;
  auto tooLarge = [&] {
    // Read on (up to a bound) so that the client sees the 413 rather than
    // a reset while it is still sending; the connection closes after it.
    std::istream& rest = request.stream();
    char sink[16384];
    for (size_t n = 0; n < kDrainBytes && rest.read(sink, sizeof sink) ;) n += sizeof sink;
    response.setKeepAlive(false);
    sendError(response, 413,
              "request body too large; an append is limited to " +
                  std::to_string(limit) + " bytes (rtdemo.streams.max-bytes)");
  };
  if (request.hasContentLength() &&
      request.getContentLength64() > static_cast<Poco::Int64>(limit)) {
    tooLarge();
    return false;
  }
  std::istream& in = request.stream();
  char buf[16384];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    body->append(buf, static_cast<size_t>(in.gcount()));
    if (body->size() > limit) {
      tooLarge();
      return false;
    }
  }
  if (request.hasContentLength() &&
      static_cast<Poco::Int64>(body->size()) != request.getContentLength64()) {
    response.setKeepAlive(false);
    sendError(response, 400, "request body is shorter than its Content-Length");
    return false;
  }
  return true;
}

bool StreamHandler::backendFailed(const Status& s,
                                  Poco::Net::HTTPServerResponse& response,
                                  const char* what) {
  if (s.ok()) return false;
  int code = httpStatusFor(s);
  Poco::Logger::get("rtdemo").warning("stream %s: %s failed: %s", name_,
                                      std::string(what), s.toString());
  if (code == 503) response.set("Retry-After", "1");
  sendError(response, code, s.toString());
  return true;
}

void StreamHandler::append(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) {
  RequestSecurity& hooks = *ctx_->requestSecurity;
  SendAuth auth;
  if (!hooks.beginSend(request, response, &auth)) return;
  std::string body;  // first, as in create()
  if (!readBody(request, response, &body)) return;
  StreamAppend append;
  if (std::string why = parseFlag(header(request, kClosedHeader), &append.close);
      !why.empty()) {
    sendError(response, 400, std::string(kClosedHeader) + ": " + why);
    return;
  }
  if (std::string why = parseProducer(header(request, "Producer-Id"),
                                      header(request, "Producer-Epoch"),
                                      header(request, "Producer-Seq"), &append.producer);
      !why.empty()) {
    sendError(response, 400, why);
    return;
  }
  append.streamSeq = header(request, "Stream-Seq");
  if (!hooks.authorizeSend(auth, name_, response)) return;
  if (body.empty() && !append.close) {
    sendError(response, 400, "an append needs a body (or Stream-Closed: true)");
    return;
  }
  if (!body.empty()) {
    if (!request.has("Content-Type")) {
      sendError(response, 400, "an append needs a Content-Type");
      return;
    }
    append.contentType = normaliseContentType(request.getContentType());
    if (append.contentType.empty()) {
      sendError(response, 400, "Content-Type is not a media type");
      return;
    }
    append.event = isTextContentType(append.contentType) ? "" : "binary";
    if (append.contentType == "application/json") {
      JsonMessages split = splitJsonBody(body, /*allowEmptyArray=*/false);
      if (!split.error.empty()) {
        sendError(response, 400, "body is not valid JSON: " + split.error);
        return;
      }
      append.messages = std::move(split.messages);
    } else {
      append.messages.push_back(std::move(body));
    }
  }

  StreamResult result;
  if (backendFailed(ctx_->broker->appendStream(name_, append, &result), response,
                    "append"))
    return;
  // A close publishes no message: wake the stream's waiting readers, so
  // that they see it at once.
  if (append.close && result.outcome == StreamOutcome::kOk)
    ctx_->hub->streamWaiters().wake(name_);
  auto offsetHeaders = [&] {
    if (!result.tailId.empty()) response.set(kNextOffset, offsetOf(result.tailId));
    if (result.closed) response.set(kClosedHeader, "true");
  };
  auto producerHeaders = [&] {
    if (!append.producer) return;
    response.set("Producer-Epoch", std::to_string(result.producerEpoch));
    response.set("Producer-Seq", std::to_string(result.producerSeq));
  };
  switch (result.outcome) {
    case StreamOutcome::kOk:
    case StreamOutcome::kDuplicate: {
      offsetHeaders();
      producerHeaders();
      // New data with a producer claim is 200 (the claim was recorded); a
      // duplicate, a close-only and a plain append are 204.
      bool withProducer = append.producer && result.outcome == StreamOutcome::kOk &&
                          !append.messages.empty();
      response.setStatusAndReason(withProducer ? Poco::Net::HTTPResponse::HTTP_OK
                                      : Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
      response.setContentLength(0);
      response.send();
      return;
    }
    case StreamOutcome::kNotFound:
      sendError(response, 404, "no stream " + name_);
      return;
    case StreamOutcome::kGone:
      sendError(response, 410, "stream " + name_ + " was deleted");
      return;
    case StreamOutcome::kContentTypeMismatch:
      offsetHeaders();
      sendError(response, 409, "Content-Type " + append.contentType +
                                   " is not the stream's");
      return;
    case StreamOutcome::kClosed:
      offsetHeaders();
      response.set(kClosedHeader, "true");
      sendError(response, 409, "stream " + name_ + " is closed");
      return;
    case StreamOutcome::kStreamSeqRegression:
      offsetHeaders();
      sendError(response, 409, "Stream-Seq " + append.streamSeq.value_or("") +
                                   " is not greater than the last one");
      return;
    case StreamOutcome::kStaleEpoch:
      response.set("Producer-Epoch", std::to_string(result.producerEpoch));
      sendError(response, 403, "Producer-Epoch " + std::to_string(append.producer->epoch) +
                                   " is older than the producer's current epoch " +
                                   std::to_string(result.producerEpoch));
      return;
    case StreamOutcome::kSeqGap:
      response.set("Producer-Expected-Seq", std::to_string(result.producerSeq));
      response.set("Producer-Received-Seq", std::to_string(append.producer->seq));
      sendError(response, 409, "Producer-Seq " + std::to_string(append.producer->seq) +
                                   " skips; expected " + std::to_string(result.producerSeq));
      return;
    case StreamOutcome::kEpochNotFromZero:
      sendError(response, 400, "a new Producer-Epoch must start at Producer-Seq 0");
      return;
    default:
      sendError(response, 500, "unexpected outcome of append");
      return;
  }
}

void StreamHandler::remove(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) {
  RequestSecurity& hooks = *ctx_->requestSecurity;
  SendAuth auth;
  if (!hooks.beginSend(request, response, &auth)) return;
  if (!hooks.authorizeSend(auth, name_, response)) return;
  StreamResult result;
  if (backendFailed(ctx_->broker->deleteStream(name_, &result), response, "delete"))
    return;
  if (result.outcome == StreamOutcome::kNotFound) {
    sendError(response, 404, "no stream " + name_);
    return;
  }
  if (result.outcome == StreamOutcome::kGone) {
    sendError(response, 410, "stream " + name_ + " was deleted already");
    return;
  }
  ctx_->hub->streamWaiters().wake(name_);  // they answer 404 / end
  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
  response.setContentLength(0);
  response.send();
}

bool StreamHandler::lookUp(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response, Transport transport,
                           StreamInfo* info, SubscribeAuth* auth) {
  if (!ctx_->requestSecurity->authorizeSubscribe(request, response, name_, transport, auth))
    return false;
  bool exists = false;
  if (backendFailed(ctx_->broker->streamInfo(name_, info, &exists), response, "read"))
    return false;
  if (!exists) {
    sendError(response, 404, "no stream " + name_);
    return false;
  }
  if (info->softDeleted) {
    sendError(response, 410, "stream " + name_ + " was deleted");
    return false;
  }
  return true;
}

void StreamHandler::head(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response) {
  StreamInfo info;
  SubscribeAuth auth;
  if (!lookUp(request, response, Transport::kPoll, &info, &auth)) return;
  response.set("Content-Type", info.config.contentType);
  response.set(kNextOffset, offsetOf(info.tailId));
  response.set("Cache-Control", "no-store");
  if (info.config.ttlSeconds > 0)
    response.set("Stream-TTL", std::to_string(info.config.ttlSeconds));
  if (info.config.expiresAtMs > 0)
    response.set("Stream-Expires-At", formatRfc3339(info.config.expiresAtMs));
  if (info.closed) response.set(kClosedHeader, "true");
  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentLength(0);
  response.send();
}

void StreamHandler::read(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response) {
  // The query by hand: a repeated offset is an error, not "the last wins".
  Poco::URI::QueryParameters params;
  try {
    params = Poco::URI(request.getURI()).getQueryParameters();
  } catch (const std::exception&) {
    sendError(response, 400, "malformed query");
    return;
  }
  std::optional<std::string> offsetText;
  std::string live, clientCursor;
  for (const auto& [k, v] : params) {
    if (k == "offset") {
      if (offsetText) {
        sendError(response, 400, "offset is given more than once");
        return;
      }
      offsetText = v;
    } else if (k == "live") {
      live = v;
    } else if (k == "cursor") {
      clientCursor = v;
    }
  }
  if (!live.empty() && live != "long-poll" && live != "sse") {
    sendError(response, 400, "live must be long-poll or sse");
    return;
  }
  if (!live.empty() && !offsetText) {
    sendError(response, 400, "live=" + live + " needs an offset");
    return;
  }
  if (offsetText && offsetText->empty()) {
    sendError(response, 400, "offset is empty");
    return;
  }
  ParsedOffset parsed = parseOffset(offsetText.value_or("-1"));
  if (parsed.kind == ParsedOffset::kMalformed) {
    sendError(response, 400, "malformed offset: " + parsed.reason);
    return;
  }

  StreamInfo info;
  SubscribeAuth auth;
  Transport transport = live == "sse" ? Transport::kSse : Transport::kPoll;
  if (!lookUp(request, response, transport, &info, &auth)) return;
  Broker& broker = *ctx_->broker;
  std::optional<MessageId> start = MessageId::parse(info.startId);
  std::optional<MessageId> tail = MessageId::parse(info.tailId);
  if (!start || !tail) {
    sendError(response, 500, "stream " + name_ + " has malformed bounds");
    return;
  }
  MessageId cursor = *start;
  if (parsed.kind == ParsedOffset::kNow) {
    cursor = *tail;
  } else if (parsed.kind == ParsedOffset::kId) {
    if (parsed.id.epoch != tail->epoch) {
      sendError(response, 410, "offset is of another history epoch; read from -1");
      return;
    }
    if (parsed.id < *start) {
      sendError(response, 410, "offset is before the stream's retained history");
      return;
    }
    if (*tail < parsed.id) {
      sendError(response, 400, "offset beyond the tail");
      return;
    }
    cursor = parsed.id;
  }
  broker.touchStream(name_);

  StreamRead page;
  page.channel = name_;
  page.info = info;
  page.cursor = cursor;
  page.clientCursor = clientCursor;
  if (live == "sse") {
    startStreamSse(request, response, *ctx_, std::move(page), auth);
    return;
  }
  if (cursor != *tail || live.empty() || info.closed) {
    if (!readStreamPage(broker, ctx_->settings.streamBufferBytes, &page, response)) return;
    answerStreamPage(request, response, page, live == "long-poll");
    return;
  }
  // A long poll at the tail of an open stream waits in the hub.
  startStreamLongPoll(request, response, *ctx_, std::move(page), auth);
}

}  // namespace rtdemo
