// Reads of a Durable Stream (GET /v1/stream/{name}): one page of history
// after a cursor, answered as catch-up or an immediate long-poll answer, and
// live=sse, whose catch-up is written here before the socket goes on.
//
// Thread safety: called on the request's pool thread; the Broker is safe
// from any thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "Poco/Net/HTTPServerRequest.h"
#include "Poco/Net/HTTPServerResponse.h"
#include "service/http/request_security.h"
#include "service/http/service_context.h"
#include "storage/broker.h"
#include "storage/stream.h"

namespace rtdemo {

struct StreamRead {
  std::string channel;
  StreamInfo info;      // as looked up before the read
  MessageId cursor;     // the position the read starts after
  std::string clientCursor;  // the request's `cursor` ("" if none)
  // Filled by readStreamPage():
  std::vector<MessagePtr> messages;  // after `cursor`, in order
  MessageId next;                    // the offset after the page
};

// Reads one page after page->cursor (up to `budgetBytes` of data, at least
// one message). False after answering: 410 when the history the cursor
// names is gone, or the backend's error.
bool readStreamPage(Broker& broker, size_t budgetBytes, StreamRead* page,
                    Poco::Net::HTTPServerResponse& response);

// The answer to a page, as status, headers and body, so that it can go out
// through POCO or on a socket the hub holds.
struct StreamAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// How long a write to a waiting reader may block before the reader is
// dropped (it reconnects from its last offset).
constexpr int kWaiterSendTimeoutSeconds = 5;

// The answer to a page: 200 with the payload, 304 when `ifNoneMatch` is its
// ETag, and for a long poll (`longPoll`: with Stream-Cursor) 204 when empty.
StreamAnswer streamPageAnswer(const StreamRead& page, bool longPoll,
                              const std::string& ifNoneMatch);

// Answers a page: 200 with the payload (JSON streams: an array), or 304
// for a matching If-None-Match. `longPoll` adds Stream-Cursor; an empty
// page of a long poll is 204.
void answerStreamPage(Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response, const StreamRead& page,
                      bool longPoll);

// The payload of `messages` as the stream's content type reads it.
std::string streamPayload(const StreamConfig& config,
                          const std::vector<MessagePtr>& messages);

// live=sse: sends the headers and the catch-up (each page a data event and
// a control event), then hands the socket to the hub to follow the stream
// (hub/stream_waiters.h); a closed stream's reader gets the final control
// event and is closed, and so is one that waited rtdemo.poll.timeout.seconds
// for nothing (it reconnects from its last offset).
void startStreamSse(Poco::Net::HTTPServerRequest& request,
                    Poco::Net::HTTPServerResponse& response, ServiceContext& ctx,
                    StreamRead page, const SubscribeAuth& auth);

// live=long-poll at the tail of an open stream: the hub holds the socket
// (hub/stream_waiters.h) until the stream moves or rtdemo.poll.timeout.seconds
// pass, then a waiter thread answers it and closes the connection.
void startStreamLongPoll(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response, ServiceContext& ctx,
                         StreamRead page, const SubscribeAuth& auth);

}  // namespace rtdemo
