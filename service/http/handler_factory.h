// HandlerFactory: routes each request to a fresh handler.
//
// Routes by the percent-decoded path (Poco::URI); a request target that is
// not a URI gets 400. Unknown paths get a real 404 handler (a factory
// returning nullptr would make POCO answer 501), and known paths with the
// wrong method get 405.
#pragma once

#include <memory>

#include "Poco/Net/HTTPRequestHandlerFactory.h"
#include "service/http/service_context.h"

namespace rtdemo {

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(std::shared_ptr<ServiceContext> ctx)
      : ctx_(std::move(ctx)) {}

  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

 private:
  const std::shared_ptr<ServiceContext> ctx_;
};

}  // namespace rtdemo
