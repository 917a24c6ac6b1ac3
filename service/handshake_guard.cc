// The handshake deadline, its watchdog thread and the guarded server (see
// handshake_guard.h).
#include "service/handshake_guard.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>

#include "Poco/Net/HTTPServerConnection.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"
#include "storage/clock.h"

namespace rtdemo {
namespace {

thread_local GuardedConnectionState* tlsConnection = nullptr;

class GuardedConnection : public Poco::Net::TCPServerConnection {
 public:
  GuardedConnection(const Poco::Net::StreamSocket& socket,
                    Poco::Net::HTTPServerParams::Ptr params,
                    Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                    HandshakeWatchdog* watchdog, int64_t handshakeMs)
      : TCPServerConnection(socket), params_(params), factory_(factory) {
    state_.watchdog = watchdog;
    state_.handshakeMs = handshakeMs;
    state_.keepAliveMs = params->getKeepAliveTimeout().totalMilliseconds();
  }

  void run() override {
    struct Scope {
      GuardedConnectionState& s;
      explicit Scope(GuardedConnectionState& st, int fd) : s(st) {
        s.ticket = s.watchdog->add(fd);
        if (s.handshakeMs > 0)
          s.watchdog->arm(s.ticket, HandshakeWatchdog::nowMs() + s.handshakeMs);
        tlsConnection = &s;
      }
      // Before the socket is closed (when this connection object is
      // destroyed), so the watchdog can no longer reach its descriptor.
      ~Scope() {
        tlsConnection = nullptr;
        s.watchdog->remove(s.ticket);
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
                           HandshakeWatchdog* watchdog, int64_t handshakeMs)
      : params_(params),
        factory_(factory),
        watchdog_(watchdog),
        handshakeMs_(handshakeMs) {}

  Poco::Net::TCPServerConnection* createConnection(
      const Poco::Net::StreamSocket& socket) override {
    return new GuardedConnection(socket, params_, factory_, watchdog_,
                                 handshakeMs_);
  }

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  HandshakeWatchdog* watchdog_;
  int64_t handshakeMs_;
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

HandshakeWatchdog::HandshakeWatchdog(std::atomic<uint64_t>* cutOff)
    : cutOff_(cutOff) {}

HandshakeWatchdog::~HandshakeWatchdog() { stop(); }

int64_t HandshakeWatchdog::nowMs() { return steadyMs(); }

void HandshakeWatchdog::start() {
  thread_ = std::thread([this] { run(); });
}

void HandshakeWatchdog::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t HandshakeWatchdog::add(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t t = nextTicket_++;
  watched_.emplace(t, Watched{fd, st.st_dev, st.st_ino, 0});
  return t;
}

void HandshakeWatchdog::arm(uint64_t ticket, int64_t deadlineMs) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = watched_.find(ticket);
  if (it != watched_.end()) it->second.deadlineMs = deadlineMs;
}

void HandshakeWatchdog::disarm(uint64_t ticket) { arm(ticket, 0); }

void HandshakeWatchdog::remove(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  watched_.erase(ticket);
}

void HandshakeWatchdog::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // A scan every 250 ms: deadlines are seconds long, and one pass over
    // the connections the pool serves (a few hundred at most) is cheap.
    cv_.wait_for(lock, std::chrono::milliseconds(250));
    int64_t now = nowMs();
    for (auto& [ticket, w] : watched_) {
      if (w.deadlineMs == 0 || w.deadlineMs > now) continue;
      w.deadlineMs = 0;  // once: the connection's thread takes it from here
      // POCO closes the socket when its session ends, a moment before the
      // connection removes its ticket; a deadline falling in that moment
      // must not hit a new connection that reused the descriptor number.
      struct stat st {};
      if (::fstat(w.fd, &st) != 0 || st.st_dev != w.dev || st.st_ino != w.ino)
        continue;
      ::shutdown(w.fd, SHUT_RDWR);
      if (cutOff_) cutOff_->fetch_add(1, std::memory_order_relaxed);
    }
  }
}

GuardedHttpServer::GuardedHttpServer(
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory, Poco::ThreadPool& pool,
    const Poco::Net::ServerSocket& socket,
    Poco::Net::HTTPServerParams::Ptr params, HandshakeWatchdog* watchdog,
    int handshakeSeconds)
    : Poco::Net::TCPServer(
          new GuardedConnectionFactory(params, factory, watchdog,
                                       int64_t{handshakeSeconds} * 1000),
          pool, socket, params),
      factory_(factory) {}

GuardedHttpServer::~GuardedHttpServer() = default;

void GuardedHttpServer::stopAll(bool abortCurrent) {
  stop();
  StoppedEvent::fire(*factory_, this, abortCurrent);
}

}  // namespace rtdemo
