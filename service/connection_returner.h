// ConnectionReturner: gives a kept-alive connection back to POCO.
//
// A held long poll is answered by a hub loop on a socket detached from POCO.
// Closing it after every answer would make each client open a new TCP
// connection per message (5,000 clients, 5,000 connects per message). Instead
// the hub keeps the answered connection and, when the client's next request
// starts to arrive, hands the socket back here unread; a pool thread then
// parses and routes that request like any other (and a poll that parks again
// comes straight back to the hub).
//
// Thread-safe: handBack() may be called from any hub loop.
#pragma once

#include "Poco/Net/HTTPRequestHandlerFactory.h"
#include "Poco/Net/HTTPServerParams.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/ThreadPool.h"

namespace Poco {
namespace Net {
class TCPServerDispatcher;
}
}  // namespace Poco

namespace rtdemo {

class ConnectionReturner {
 public:
  // `pool` must outlive the returner; it may be the HTTPServer's own pool.
  ConnectionReturner(Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                     Poco::ThreadPool& pool,
                     Poco::Net::HTTPServerParams::Ptr params);
  ~ConnectionReturner();

  ConnectionReturner(const ConnectionReturner&) = delete;
  ConnectionReturner& operator=(const ConnectionReturner&) = delete;

  // Queues the connection for a pool thread. REQUIRES: blocking mode.
  void handBack(const Poco::Net::StreamSocket& socket);

  // Drops queued connections and lets its threads finish.
  void stop();

 private:
  Poco::Net::TCPServerDispatcher* dispatcher_;  // reference-counted by POCO
};

}  // namespace rtdemo
