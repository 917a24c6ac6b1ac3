// GuardedHttpServer: POCO's HTTPServer with the handshake deadline
// (security/handshake_watchdog.h) on every connection, against slowloris.
//
// HTTPServer is a TCPServer whose connections are HTTPServerConnections.
// This is the same TCPServer, each of whose connections is a
// GuardedConnection: it adds itself to the watchdog and arms its head
// deadline (from the accept, even while it waited in the queue) before POCO
// starts reading, runs an ordinary HTTPServerConnection, and removes itself
// before the socket closes. The admission hooks (request_security.h), on the
// same thread, find its state through currentConnection() and move the
// deadline as the request goes on.
//
// Connections that the hub hands back after a kept-alive poll
// (connection_returner.h) are run by the same GuardedConnection, from the
// returner's own dispatcher (newGuardedConnectionFactory()): the same
// deadlines, counted from the hand-back.
//
// Thread safety: currentConnection() is per thread; the rest is set up on
// one thread before the server starts, as POCO's servers are.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "Poco/Net/HTTPRequestHandlerFactory.h"
#include "Poco/Net/HTTPServerParams.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/TCPServer.h"
#include "Poco/Net/TCPServerConnectionFactory.h"
#include "Poco/ThreadPool.h"
#include "service/security/handshake_watchdog.h"

namespace rtdemo {

// What handlers on a guarded connection's thread can see of it.
struct GuardedConnectionState {
  HandshakeWatchdog* watchdog = nullptr;
  Pool pool = Pool::kServer;
  uint64_t ticket = 0;
  int64_t handshakeMs = 0;  // 0: no deadlines
  int64_t keepAliveMs = 0;  // idle time allowed between requests
  std::string sessionId;    // assigned on first use
  // Called once when the connection ends, on its thread, after POCO has
  // closed the socket (the hooks forget the connection's count with it).
  std::function<void()> onEnd;
};

// The state of the guarded connection this thread is serving, or nullptr.
GuardedConnectionState* currentConnection();

// Makes a GuardedConnection for each socket, run as `pool` (the server's
// factory, and the returner's). `watchdog` must outlive the factory;
// handshakeSeconds 0 turns deadlines off (connections still get session
// ids). Sets the watchdog's thread count for `pool` from `params`.
Poco::Net::TCPServerConnectionFactory::Ptr newGuardedConnectionFactory(
    Poco::Net::HTTPServerParams::Ptr params,
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
    HandshakeWatchdog* watchdog, int handshakeSeconds, Pool pool);

class GuardedHttpServer : public Poco::Net::TCPServer {
 public:
  // `watchdog` must outlive the server. handshakeSeconds 0 turns deadlines
  // off (connections still get session ids). Each accepted connection lets
  // the watchdog relieve a busy pool first.
  GuardedHttpServer(Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                    Poco::ThreadPool& pool,
                    const Poco::Net::ServerSocket& socket,
                    Poco::Net::HTTPServerParams::Ptr params,
                    HandshakeWatchdog* watchdog, int handshakeSeconds);
  ~GuardedHttpServer() override;

  // As HTTPServer::stopAll: stop accepting, then end idle keep-alive
  // connections (and running ones too when abortCurrent).
  void stopAll(bool abortCurrent = false);

 private:
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
};

}  // namespace rtdemo
