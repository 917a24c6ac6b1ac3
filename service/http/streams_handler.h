// StreamHandler: /v1/stream/{name}, the Durable Streams protocol
// (docs/durable-streams.md); one per request, created by the handler
// factory with the percent-decoded name.
#pragma once

#include <optional>
#include <string>

#include "service/http/handlers.h"
#include "service/http/request_security.h"
#include "storage/status.h"
#include "storage/stream.h"

namespace rtdemo {

// The headers every answer at /v1/stream carries: nosniff, CORP, and the
// CORS headers rtdemo.cors.* allow, with the protocol's headers exposed.
void addStreamCommonHeaders(const Poco::Net::HTTPServerRequest& request,
                            Poco::Net::HTTPServerResponse& response,
                            RequestSecurity& hooks);

// The request's header `name`, or nullopt when it has none.
std::optional<std::string> header(const Poco::Net::HTTPServerRequest& request,
                                  const std::string& name);

// The offset of an id the Broker answered as text ("<epoch>-<n>[-<m>]").
std::string offsetOf(const std::string& idText);

// The Stream-Cursor to answer now, given the client's `cursor` ("" if none).
std::string streamCursorFor(const std::string& clientCursor);

class StreamHandler : public Handler {
 public:
  StreamHandler(std::shared_ptr<ServiceContext> ctx, std::string name)
      : Handler(std::move(ctx)), name_(std::move(name)) {}

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;

 private:
  // PUT (streams_create.cc).
  void create(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&);
  // PUT with Stream-Forked-From (streams_fork.cc): `config` and `initial`
  // as parsed from the request (contentType "" when it named none), the
  // request authorised.
  void createFork(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&,
                  StreamConfig config, StreamAppend initial, std::string body);
  // The create's messages from its body (JSON mode: one per element);
  // false after answering 400.
  bool initialMessages(const StreamConfig& config, std::string body,
                       StreamAppend* initial, Poco::Net::HTTPServerResponse&);
  // The answer to a create or fork, for every outcome.
  void answerCreate(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&,
                    const StreamConfig& config, const StreamResult& result);
  void append(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&);
  void remove(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&);
  void head(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&);
  void read(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&);

  // Reads the body up to rtdemo.streams.max-bytes; false after answering
  // 413 or 400.
  bool readBody(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&,
                std::string* body);
  // Authorises a read and looks the stream up; false after answering.
  bool lookUp(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&,
              Transport transport, StreamInfo* info, SubscribeAuth* auth);
  // True (after answering with the backend's reason) when `s` is not OK.
  bool backendFailed(const Status& s, Poco::Net::HTTPServerResponse& response,
                     const char* what);

  const std::string name_;
};

}  // namespace rtdemo
