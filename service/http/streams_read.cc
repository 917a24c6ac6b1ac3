// Reads of a Durable Stream (see streams_read.h).
#include "service/http/streams_read.h"

#include <functional>
#include <memory>
#include <ostream>

#include "service/http/http_util.h"
#include "service/http/streams_handler.h"
#include "service/protocol/history_page.h"
#include "service/protocol/http_status.h"
#include "service/protocol/json_writer.h"
#include "service/streams/json_messages.h"
#include "service/streams/offset.h"
#include "service/streams/stream_headers.h"
#include "service/streams/stream_sse.h"
#include "storage/stream_read.h"

namespace rtdemo {
namespace {

bool isJson(const StreamConfig& config) { return config.contentType == "application/json"; }

// The validator of a page: the range it covers, and whether the stream was
// closed at its end (which changes the answer's headers, not its bytes).
std::string etagOf(const StreamRead& page, bool closedAtEnd) {
  return "\"" + renderOffset(page.cursor) + ":" + renderOffset(page.next) +
         (closedAtEnd ? ":c" : "") + "\"";
}

bool upToDate(const StreamRead& page) { return page.next.toString() == page.info.tailId; }

}  // namespace


// One page after page->cursor into *page; on failure, the status and
// reason to answer.
static bool fetchPage(Broker& broker, size_t budgetBytes, StreamRead* page, int* code,
               std::string* error) {
  // A fork's history is its source's up to the fork point, then its own.
  StreamHistory read;
  Status s = readStreamHistory(broker, page->channel, page->info, page->cursor,
                               kMaxPageMessages, &read);
  if (!s.ok()) {
    *code = httpStatusFor(s);
    *error = s.toString();
    return false;
  }
  if (read.gone) {
    *code = 410;
    *error = "offset names history that is gone: " + read.reason;
    return false;
  }
  size_t whole = read.messages.size();
  trimToBudget(&read.messages, budgetBytes);
  page->messages = std::move(read.messages);
  page->next = page->messages.size() == whole ? read.next : page->messages.back()->id;
  // The stream may have moved since it was looked up: the tail is at least
  // what was read, and a short page is the tail.
  std::optional<MessageId> tail = MessageId::parse(page->info.tailId);
  if (!tail || *tail < page->next || page->messages.empty())
    page->info.tailId = page->next.toString();
  return true;
}

bool readStreamPage(Broker& broker, size_t budgetBytes, StreamRead* page,
                    Poco::Net::HTTPServerResponse& response) {
  int code = 0;
  std::string error;
  if (fetchPage(broker, budgetBytes, page, &code, &error)) return true;
  if (code == 503) response.set("Retry-After", "1");
  sendError(response, code, error);
  return false;
}

std::string streamPayload(const StreamConfig& config,
                          const std::vector<MessagePtr>& messages) {
  if (isJson(config)) {
    std::vector<std::string_view> parts;
    parts.reserve(messages.size());
    for (const MessagePtr& m : messages) parts.push_back(m->data);
    return joinJsonMessages(parts);
  }
  std::string body;
  for (const MessagePtr& m : messages) body += m->data;
  return body;
}

StreamAnswer streamPageAnswer(const StreamRead& page, bool longPoll,
                              const std::string& ifNoneMatch) {
  StreamAnswer a;
  bool atTail = upToDate(page);
  bool closedAtEnd = atTail && page.info.closed;
  a.headers.emplace_back("Stream-Next-Offset", renderOffset(page.next));
  if (atTail) a.headers.emplace_back("Stream-Up-To-Date", "true");
  if (closedAtEnd) a.headers.emplace_back("Stream-Closed", "true");
  if (longPoll && !closedAtEnd)
    a.headers.emplace_back("Stream-Cursor", streamCursorFor(page.clientCursor));
  // A range that ends before the tail never changes; one at the tail
  // does with the next append.
  a.headers.emplace_back("Cache-Control", atTail ? "no-store"
                                                 : "public, max-age=60, stale-while-revalidate=300");
  std::string etag = etagOf(page, closedAtEnd);
  a.headers.emplace_back("ETag", etag);
  if (longPoll && page.messages.empty()) {
    a.status = 204;
  } else if (ifNoneMatch == etag) {
    a.status = 304;
  } else {
    a.status = 200;
    a.headers.emplace_back("Content-Type", page.info.config.contentType);
    a.body = streamPayload(page.info.config, page.messages);
  }
  return a;
}

void answerStreamPage(Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response, const StreamRead& page,
                      bool longPoll) {
  StreamAnswer a = streamPageAnswer(page, longPoll, request.get("If-None-Match", ""));
  for (const auto& [k, v] : a.headers) response.set(k, v);
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(a.status));
  if (a.status != 200) {
    response.setContentLength(0);
    response.send();
    return;
  }
  response.sendBuffer(a.body.data(), a.body.size());
}

namespace {

// Writes all of `bytes`; false when the client is gone or too slow (the
// send timeout set at the hand-over).
bool writeAll(Poco::Net::StreamSocket& socket, const std::string& bytes) {
  size_t sent = 0;
  try {
    while (sent < bytes.size()) {
      int n = socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

// A whole HTTP/1.1 answer that ends the connection.
std::string rawAnswer(const StreamAnswer& a, const std::string& commonLines) {
  std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " +
                    Poco::Net::HTTPResponse::getReasonForStatus(
                        static_cast<Poco::Net::HTTPResponse::HTTPStatus>(a.status)) +
                    "\r\n" + commonLines;
  for (const auto& [k, v] : a.headers) out += k + ": " + v + "\r\n";
  out += "Content-Length: " + std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n";
  return out + a.body;
}

std::string rawError(int status, const std::string& reason, const std::string& commonLines) {
  StreamAnswer a;
  a.status = status;
  a.headers.emplace_back("Content-Type", "application/json");
  JsonWriter json;
  json.beginObject();
  json.key("error");
  json.string(reason);
  json.endObject();
  a.body = json.str();
  return rawAnswer(a, commonLines);
}

// Hands the socket of a waiting reader to the hub with a send timeout, so
// that a stalled client cannot hold a waiter thread for long.
Poco::Net::StreamSocket detachForWaiting(Poco::Net::HTTPServerRequest& request) {
  Poco::Net::StreamSocket socket = detachSocket(request).socket;
  socket.setBlocking(true);
  socket.setSendTimeout(Poco::Timespan(kWaiterSendTimeoutSeconds, 0));
  return socket;
}

// The state of a stream as a woken reader sees it: false (after writing the
// answer, when `answerErrors`) when it is gone.
bool refresh(Broker& broker, StreamRead* page, Poco::Net::StreamSocket& socket,
             const std::string& commonLines, bool answerErrors) {
  bool exists = false;
  Status s = broker.streamInfo(page->channel, &page->info, &exists);
  if (!s.ok() || !exists || page->info.softDeleted) {
    if (answerErrors)
      writeAll(socket, rawError(s.ok() ? 404 : httpStatusFor(s),
                                s.ok() ? "no stream " + page->channel : s.toString(),
                                commonLines));
    return false;
  }
  return true;
}

}  // namespace

namespace {

enum class SseEnd { kCaughtUp, kClosed, kFailed };

// Writes pages from page->cursor on, each a data event and a control event,
// until the tail; the final control event of a closed stream says so.
SseEnd writeSseEvents(Broker& broker, size_t budget, StreamRead* page, bool first,
                      const std::function<bool(const std::string&)>& write) {
  bool binary = !isTextContentType(page->info.config.contentType);
  int code = 0;
  std::string error;
  while (true) {
    if (!first && !fetchPage(broker, budget, page, &code, &error)) return SseEnd::kFailed;
    first = false;
    bool atTail = upToDate(*page);
    std::string events;
    if (!page->messages.empty())
      events = encodeStreamDataEvent(streamPayload(page->info.config, page->messages), binary);
    StreamControl control;
    control.nextOffset = renderOffset(page->next);
    control.upToDate = atTail;
    control.closed = atTail && page->info.closed;
    control.cursor = streamCursorFor(page->clientCursor);
    events += encodeStreamControlEvent(control);
    if (!write(events)) return SseEnd::kFailed;
    if (control.closed) return SseEnd::kClosed;
    if (atTail) return SseEnd::kCaughtUp;
    page->cursor = page->next;
  }
}

}  // namespace

void startStreamSse(Poco::Net::HTTPServerRequest& request,
                    Poco::Net::HTTPServerResponse& response, ServiceContext& ctx,
                    StreamRead page, const SubscribeAuth& auth) {
  // Read the first page before the 200, so that a gone offset is a 410.
  size_t budget = pollPageBudget(ctx.settings.streamBufferBytes);
  if (!readStreamPage(*ctx.broker, budget, &page, response)) return;
  // Admitted as an open stream (429/503 past the limits) before the 200.
  if (!ctx.requestSecurity->openStream(request, response, auth, page.channel)) return;
  bool binary = !isTextContentType(page.info.config.contentType);
  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType("text/event-stream");
  response.set("Cache-Control", "no-cache");
  response.set("X-Accel-Buffering", "no");
  if (binary) response.set("Stream-SSE-Data-Encoding", "base64");
  response.setChunkedTransferEncoding(false);
  response.setKeepAlive(false);  // the events end with the connection
  std::ostream& out = response.send();
  SseEnd end = writeSseEvents(*ctx.broker, budget, &page, /*first=*/true,
                              [&out](const std::string& events) {
                                out << events;
                                out.flush();
                                return static_cast<bool>(out);
                              });
  Poco::Net::StreamSocket socket = detachForWaiting(request);
  if (end != SseEnd::kCaughtUp) {
    // Closed, or the client is gone: the stream is not held after all.
    int fd = static_cast<int>(socket.impl()->sockfd());
    socket.close();
    ctx.security->connections().release(fd);
    return;
  }
  // Caught up: the hub holds the reader until the stream moves. A wait
  // that times out ends the response; the client reconnects from the last
  // control event's offset, as the protocol allows.
  Broker* broker = ctx.broker.get();
  auto state = std::make_shared<StreamRead>(std::move(page));
  std::string after = state->next.toString();
  ctx.hub->streamWaiters().add(
      std::move(socket), state->channel, after,
      int64_t{ctx.settings.pollTimeoutSeconds} * 1000,
      [broker, state, budget](Poco::Net::StreamSocket& s,
                              bool timedOut) -> std::optional<std::string> {
        if (timedOut || !refresh(*broker, state.get(), s, "", false)) return std::nullopt;
        state->cursor = state->next;
        SseEnd e = writeSseEvents(*broker, budget, state.get(), /*first=*/false,
                                  [&s](const std::string& events) { return writeAll(s, events); });
        if (e != SseEnd::kCaughtUp) return std::nullopt;
        return state->next.toString();
      });
}

void startStreamLongPoll(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response, ServiceContext& ctx,
                         StreamRead page, const SubscribeAuth& auth) {
  if (!ctx.requestSecurity->openStream(request, response, auth, page.channel)) return;
  std::string common = detachedHeaderLines(response);
  response.setKeepAlive(false);
  Broker* broker = ctx.broker.get();
  size_t budget = pollPageBudget(ctx.settings.streamBufferBytes);
  auto state = std::make_shared<StreamRead>(std::move(page));
  std::string after = state->cursor.toString();
  ctx.hub->streamWaiters().add(
      detachForWaiting(request), state->channel, after,
      int64_t{ctx.settings.pollTimeoutSeconds} * 1000,
      [broker, state, budget, common](Poco::Net::StreamSocket& s,
                                      bool timedOut) -> std::optional<std::string> {
        if (!refresh(*broker, state.get(), s, common, true)) return std::nullopt;
        int code = 0;
        std::string error;
        if (!fetchPage(*broker, budget, state.get(), &code, &error)) {
          writeAll(s, rawError(code, error, common));
          return std::nullopt;
        }
        // Woken with nothing new (another reader's wake, a touch): wait on,
        // unless the wait is over or the stream closed.
        if (state->messages.empty() && !timedOut && !state->info.closed)
          return state->cursor.toString();
        writeAll(s, rawAnswer(streamPageAnswer(*state, /*longPoll=*/true, ""), common));
        return std::nullopt;
      });
}

}  // namespace rtdemo
