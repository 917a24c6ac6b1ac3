// The guarded HTTP server and its connections (see guarded_server.h).
#include "service/http/guarded_server.h"

#include "Poco/Net/HTTPServerConnection.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"

namespace rtdemo {
namespace {

thread_local GuardedConnectionState* tlsConnection = nullptr;

class GuardedConnection : public Poco::Net::TCPServerConnection {
 public:
  GuardedConnection(const Poco::Net::StreamSocket& socket,
                    Poco::Net::HTTPServerParams::Ptr params,
                    Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                    HandshakeWatchdog* watchdog, int64_t handshakeMs, Pool pool)
      : TCPServerConnection(socket), params_(params), factory_(factory) {
    state_.watchdog = watchdog;
    state_.pool = pool;
    state_.handshakeMs = handshakeMs;
    state_.keepAliveMs = params->getKeepAliveTimeout().totalMilliseconds();
  }

  void run() override {
    struct Scope {
      GuardedConnectionState& s;
      explicit Scope(GuardedConnectionState& st, int fd) : s(st) {
        s.ticket = s.watchdog->add(fd, s.pool);
        // The deadline of a connection that waited in the queue runs from
        // its accept (RelieveOnAccept).
        int64_t deadline = s.watchdog->claimQueued(fd);
        if (deadline == 0 && s.handshakeMs > 0) deadline = HandshakeWatchdog::nowMs() + s.handshakeMs;
        if (deadline != 0) s.watchdog->arm(s.ticket, deadline);
        tlsConnection = &s;
      }
      // Before the socket is closed (when this connection object is
      // destroyed), so the watchdog can no longer reach its descriptor.
      ~Scope() {
        tlsConnection = nullptr;
        s.watchdog->remove(s.ticket);
        if (s.onEnd) s.onEnd();
      }
    } scope(state_, socket().impl()->sockfd());
    Poco::Net::HTTPServerConnection inner(socket(), params_, factory_);
    inner.run();
  }

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  GuardedConnectionState state_;
};

class GuardedConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
 public:
  GuardedConnectionFactory(Poco::Net::HTTPServerParams::Ptr params,
                           Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                           HandshakeWatchdog* watchdog, int64_t handshakeMs,
                           Pool pool)
      : params_(params),
        factory_(factory),
        watchdog_(watchdog),
        handshakeMs_(handshakeMs),
        pool_(pool) {}

  Poco::Net::TCPServerConnection* createConnection(
      const Poco::Net::StreamSocket& socket) override {
    return new GuardedConnection(socket, params_, factory_, watchdog_,
                                 handshakeMs_, pool_);
  }

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  HandshakeWatchdog* watchdog_;
  int64_t handshakeMs_;
  Pool pool_;
};

// Runs on the accept thread for every new connection, before it is queued
// for a pool thread: if none is free, idle kept-alive connections make room.
// Its head deadline starts here too (HandshakeWatchdog::queue).
class RelieveOnAccept : public Poco::Net::TCPServerConnectionFilter {
 public:
  RelieveOnAccept(HandshakeWatchdog* watchdog, int64_t handshakeMs)
      : watchdog_(watchdog), handshakeMs_(handshakeMs) {}
  bool accept(const Poco::Net::StreamSocket& socket) override {
    watchdog_->relieve(Pool::kServer);
    if (handshakeMs_ > 0)
      watchdog_->queue(socket.impl()->sockfd(), HandshakeWatchdog::nowMs() + handshakeMs_);
    return true;
  }

 private:
  HandshakeWatchdog* watchdog_;
  const int64_t handshakeMs_;
};

// HTTPRequestHandlerFactory::serverStopped is protected and befriends only
// HTTPServer and HTTPServerConnection. Naming it through a derived class is
// how standard C++ lets us reach it (a member pointer formed in a derived
// class's scope), without editing or subclassing the real factory.
struct StoppedEvent : Poco::Net::HTTPRequestHandlerFactory {
  static void fire(Poco::Net::HTTPRequestHandlerFactory& factory,
                   const void* sender, bool abortCurrent) {
    auto member = &StoppedEvent::serverStopped;
    (factory.*member)(sender, abortCurrent);
  }
};

}  // namespace

GuardedConnectionState* currentConnection() { return tlsConnection; }

Poco::Net::TCPServerConnectionFactory::Ptr newGuardedConnectionFactory(
    Poco::Net::HTTPServerParams::Ptr params,
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
    HandshakeWatchdog* watchdog, int handshakeSeconds, Pool pool) {
  watchdog->setThreads(pool, static_cast<size_t>(params->getMaxThreads()));
  return new GuardedConnectionFactory(params, factory, watchdog,
                                      int64_t{handshakeSeconds} * 1000, pool);
}

GuardedHttpServer::GuardedHttpServer(
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory, Poco::ThreadPool& pool,
    const Poco::Net::ServerSocket& socket,
    Poco::Net::HTTPServerParams::Ptr params, HandshakeWatchdog* watchdog,
    int handshakeSeconds)
    : Poco::Net::TCPServer(
          newGuardedConnectionFactory(params, factory, watchdog,
                                      handshakeSeconds, Pool::kServer),
          pool, socket, params),
      factory_(factory) {
  setConnectionFilter(new RelieveOnAccept(watchdog, int64_t{handshakeSeconds} * 1000));
}

GuardedHttpServer::~GuardedHttpServer() = default;

void GuardedHttpServer::stopAll(bool abortCurrent) {
  stop();
  StoppedEvent::fire(*factory_, this, abortCurrent);
}

}  // namespace rtdemo
