// Implementation of ConnectionReturner (see connection_returner.h): a second
// POCO dispatcher that shares the HTTP server's handler factory and pool.
#include "service/connection_returner.h"

#include "Poco/Net/HTTPServerConnectionFactory.h"
#include "Poco/Net/TCPServerDispatcher.h"

namespace rtdemo {

ConnectionReturner::ConnectionReturner(
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory, Poco::ThreadPool& pool,
    Poco::Net::HTTPServerParams::Ptr params)
    : dispatcher_(new Poco::Net::TCPServerDispatcher(
          new Poco::Net::HTTPServerConnectionFactory(params, factory), pool,
          params)) {}

ConnectionReturner::~ConnectionReturner() {
  stop();
  dispatcher_->release();
}

void ConnectionReturner::handBack(const Poco::Net::StreamSocket& socket) {
  dispatcher_->enqueue(socket);
}

void ConnectionReturner::stop() { dispatcher_->stop(); }

}  // namespace rtdemo
