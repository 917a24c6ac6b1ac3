// The request handlers, one per endpoint. HandlerFactory (handler_factory.h)
// creates a fresh one per request.
//
// Every handler derives from Handler, which turns any exception into a JSON
// 500 (POCO itself only catches Poco::Exception) and counts the request as in
// flight so that shutdown can wait for it.
#pragma once

#include <memory>
#include <string>

#include "Poco/Net/HTTPRequestHandler.h"
#include "service/http/service_context.h"

namespace rtdemo {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(std::shared_ptr<ServiceContext> ctx) : ctx_(std::move(ctx)) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) final;

 protected:
  virtual void handle(Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response) = 0;
  const std::shared_ptr<ServiceContext> ctx_;
};

// POST /send
class SendHandler : public Handler {
 public:
  using Handler::Handler;

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;
};

// GET /events
class EventsHandler : public Handler {
 public:
  using Handler::Handler;

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;
};

// GET /poll
class PollHandler : public Handler {
 public:
  using Handler::Handler;

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;
};

// GET / and GET /static/...
class StaticFileHandler : public Handler {
 public:
  // `path`: the request's percent-decoded path (handler_factory.cc).
  StaticFileHandler(std::shared_ptr<ServiceContext> ctx, std::string path)
      : Handler(std::move(ctx)), path_(std::move(path)) {}

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;

 private:
  const std::string path_;
};

// GET /healthz
class HealthHandler : public Handler {
 public:
  using Handler::Handler;

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;
};

// GET /metrics (Prometheus text format)
class MetricsHandler : public Handler {
 public:
  using Handler::Handler;

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;
};

// GET /ws: the WebSocket handshake, then the hub owns the connection.
class WebSocketHandler : public Handler {
 public:
  using Handler::Handler;

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;
};

// Unknown paths (404), known paths with the wrong method (405) and request
// targets that are not URIs (400).
class ErrorHandler : public Handler {
 public:
  // `allow`: the methods a 405 names; `error`: the reason of any other
  // status.
  ErrorHandler(std::shared_ptr<ServiceContext> ctx, int status,
               std::string allow, std::string error = "not found")
      : Handler(std::move(ctx)),
        status_(status),
        allow_(std::move(allow)),
        error_(std::move(error)) {}

 protected:
  void handle(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&) override;

 private:
  const int status_;
  const std::string allow_;
  const std::string error_;
};

}  // namespace rtdemo
