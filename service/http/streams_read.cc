// Reads of a Durable Stream (see streams_read.h).
#include "service/http/streams_read.h"

#include <ostream>

#include "Poco/String.h"
#include "service/http/http_util.h"
#include "service/http/streams_handler.h"
#include "service/protocol/history_page.h"
#include "service/protocol/http_status.h"
#include "service/streams/json_messages.h"
#include "service/streams/offset.h"
#include "service/streams/stream_headers.h"
#include "service/streams/stream_sse.h"

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
  HistoryRead read;
  Status s = broker.readAfter(page->channel, page->cursor.toString(), kMaxPageMessages, &read);
  if (!s.ok()) {
    *code = httpStatusFor(s);
    *error = s.toString();
    return false;
  }
  if (read.reset) {
    *code = 410;
    *error = "offset names history that is gone: " + read.resetReason;
    return false;
  }
  trimToBudget(&read.messages, budgetBytes);
  page->messages = std::move(read.messages);
  page->next = page->messages.empty() ? page->cursor : page->messages.back()->id;
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

void answerStreamPage(Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response, const StreamRead& page,
                      bool longPoll) {
  bool atTail = upToDate(page);
  bool closedAtEnd = atTail && page.info.closed;
  response.set("Stream-Next-Offset", renderOffset(page.next));
  if (atTail) response.set("Stream-Up-To-Date", "true");
  if (closedAtEnd) response.set("Stream-Closed", "true");
  if (longPoll && !closedAtEnd) response.set("Stream-Cursor", streamCursorFor(page.clientCursor));
  // A range that ends before the tail never changes; one at the tail
  // does with the next append.
  response.set("Cache-Control", atTail ? "no-store"
                                       : "public, max-age=60, stale-while-revalidate=300");
  std::string etag = etagOf(page, closedAtEnd);
  response.set("ETag", etag);
  if (longPoll && page.messages.empty()) {
    response.setStatus(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
    response.setContentLength(0);
    response.send();
    return;
  }
  if (request.get("If-None-Match", "") == etag) {
    response.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
    response.setContentLength(0);
    response.send();
    return;
  }
  std::string body = streamPayload(page.info.config, page.messages);
  response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType(page.info.config.contentType);
  response.sendBuffer(body.data(), body.size());
}

void startStreamSse(Poco::Net::HTTPServerRequest& request,
                    Poco::Net::HTTPServerResponse& response, ServiceContext& ctx,
                    StreamRead page, const SubscribeAuth& auth) {
  (void)request, (void)auth;  // openStream() comes with the hand-over to the hub
  // Read the first page before the 200, so that a gone offset is a 410.
  size_t budget = pollPageBudget(ctx.settings.streamBufferBytes);
  if (!readStreamPage(*ctx.broker, budget, &page, response)) return;
  bool binary = !isTextContentType(page.info.config.contentType);
  response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType("text/event-stream");
  response.set("Cache-Control", "no-cache");
  response.set("X-Accel-Buffering", "no");
  if (binary) response.set("Stream-SSE-Data-Encoding", "base64");
  response.setChunkedTransferEncoding(false);
  response.setKeepAlive(false);  // the events end with the connection
  std::ostream& out = response.send();
  // The catch-up: every page a data event and the control event after it.
  while (true) {
    bool atTail = upToDate(page);
    if (!page.messages.empty())
      out << encodeStreamDataEvent(streamPayload(page.info.config, page.messages), binary);
    StreamControl control;
    control.nextOffset = renderOffset(page.next);
    control.upToDate = atTail;
    control.closed = atTail && page.info.closed;
    control.cursor = streamCursorFor(page.clientCursor);
    out << encodeStreamControlEvent(control);
    out.flush();
    if (!out || atTail) break;
    page.cursor = page.next;
    int code = 0;
    std::string error;
    // On an error the client reconnects from the last control event's offset.
    if (!fetchPage(*ctx.broker, budget, &page, &code, &error)) return;
  }
  // Caught up. Following the stream live is the hub's (step 2 of issue 20,
  // not landed yet): until then the connection ends here and the client
  // reconnects from the last control event's offset, as the protocol
  // lets a server end an SSE response at any time.
}

void startStreamLongPoll(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response, ServiceContext& ctx,
                         StreamRead page, const SubscribeAuth& auth) {
  (void)ctx, (void)auth;
  // Until the hub holds stream long polls (issue 20 step 2), a poll at the
  // tail is answered as timed out at once: 204 with the cursor.
  page.next = page.cursor;
  answerStreamPage(request, response, page, /*longPoll=*/true);
}

}  // namespace rtdemo
