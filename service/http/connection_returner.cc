// Implementation of ConnectionReturner (see connection_returner.h): a second
// POCO dispatcher that shares the HTTP server's handler factory and pool,
// and runs guarded connections like the server's.
#include "service/http/connection_returner.h"

#include "Poco/Net/TCPServerDispatcher.h"

namespace rtdemo {

ConnectionReturner::ConnectionReturner(
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory, Poco::ThreadPool& pool,
    Poco::Net::HTTPServerParams::Ptr params, HandshakeWatchdog* watchdog,
    int handshakeSeconds)
    : watchdog_(watchdog),
      dispatcher_(new Poco::Net::TCPServerDispatcher(
          newGuardedConnectionFactory(params, factory, watchdog,
                                      handshakeSeconds, Pool::kReturned),
          pool, params)) {}

ConnectionReturner::~ConnectionReturner() { stop(); }

void ConnectionReturner::handBack(const Poco::Net::StreamSocket& socket) {
  watchdog_->relieve(Pool::kReturned);
  dispatcher_->enqueue(socket);
}

void ConnectionReturner::stop() { dispatcher_->stop(); }

}  // namespace rtdemo
