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
// Each connection handed back is run by a GuardedConnection
// (guarded_server.h) as Pool::kReturned: its request head must arrive
// within rtdemo.limits.handshake.seconds of the hand-back, a body within the
// same time, and it idles between requests under the same rules as the
// server's own connections. Without that, a client drip-feeding its next
// head had only POCO's 15 s per read and could hold a thread for ever.
//
// Thread-safe: handBack() may be called from any hub loop.
#pragma once

#include "Poco/AutoPtr.h"
#include "Poco/Net/HTTPRequestHandlerFactory.h"
#include "Poco/Net/HTTPServerParams.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/ThreadPool.h"
#include "service/http/guarded_server.h"

namespace Poco {
namespace Net {
class TCPServerDispatcher;
}
}  // namespace Poco

namespace rtdemo {

class ConnectionReturner {
 public:
  // `pool` must outlive the returner; it may be the HTTPServer's own pool.
  // `watchdog` must outlive it too; handshakeSeconds as for
  // GuardedHttpServer.
  ConnectionReturner(Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                     Poco::ThreadPool& pool,
                     Poco::Net::HTTPServerParams::Ptr params,
                     HandshakeWatchdog* watchdog, int handshakeSeconds);
  ~ConnectionReturner();

  ConnectionReturner(const ConnectionReturner&) = delete;
  ConnectionReturner& operator=(const ConnectionReturner&) = delete;

  // Queues the connection for a pool thread (relieving the pool of idle
  // connections first if every thread is held). REQUIRES: blocking mode.
  void handBack(const Poco::Net::StreamSocket& socket);

  // Drops queued connections and lets its threads finish.
  void stop();

 private:
  HandshakeWatchdog* const watchdog_;
  // Reference-counted by POCO: its threads hold it too while they run.
  Poco::AutoPtr<Poco::Net::TCPServerDispatcher> dispatcher_;
};

}  // namespace rtdemo
