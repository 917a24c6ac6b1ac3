// Handshake guard: a request head (and a publish body) must arrive within
// rtdemo.limits.handshake.seconds, or the connection is cut (slowloris).
//
// POCO's HTTPServer gives each connection a pool thread and reads the
// request with a per-recv timeout, so a client that sends one byte every
// few seconds holds a thread forever; 32 such clients stop the server.
// GuardedHttpServer is HTTPServer with one layer added: each connection is
// run by a GuardedConnection, which arms a deadline with the
// HandshakeWatchdog before POCO starts reading. The handler side
// (Security::admitRequest / finishRequest, on the same thread, found through
// currentConnection()) moves the deadline:
//   connection accepted        -> armed: head within the limit
//   head parsed, no body       -> disarmed (a stream or a poll may detach)
//   head parsed, with a body   -> armed again: body within the limit
//   body read (publish parsed) -> disarmed
//   answer sent, keep-alive    -> armed: idle time + head within the limit
// A connection past its deadline gets shutdown(): POCO's blocked recv()
// returns and the connection ends normally, on its own thread. The watchdog
// never shuts down a descriptor that has changed hands: disarming happens
// under its mutex before a socket is detached (streams, polls, WebSocket),
// and before it shuts one down it checks that the descriptor still names
// the socket it was given (POCO closes the socket a moment before the
// connection removes its ticket).
//
// Connections that the hub hands back after a kept-alive poll
// (connection_returner.h) are run by POCO's own connection class and are not
// guarded.
//
// Thread safety: HandshakeWatchdog methods may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "Poco/Net/HTTPRequestHandlerFactory.h"
#include "Poco/Net/HTTPServerParams.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/TCPServer.h"
#include "Poco/ThreadPool.h"

namespace rtdemo {

class HandshakeWatchdog {
 public:
  // `cutOff` counts connections shut down for missing their deadline.
  explicit HandshakeWatchdog(std::atomic<uint64_t>* cutOff);
  ~HandshakeWatchdog();

  void start();
  void stop();

  // Returns a ticket for the connection on `fd`; not armed yet.
  uint64_t add(int fd);
  void arm(uint64_t ticket, int64_t deadlineMs);  // steady clock
  void disarm(uint64_t ticket);
  void remove(uint64_t ticket);

  static int64_t nowMs();

 private:
  void run();

  std::atomic<uint64_t>* const cutOff_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  struct Watched {
    int fd;
    dev_t dev;  // the socket's identity when added (see run())
    ino_t ino;
    int64_t deadlineMs;  // 0: disarmed
  };
  std::map<uint64_t, Watched> watched_;
  uint64_t nextTicket_ = 1;
  bool stopping_ = false;
};

// What handlers on a guarded connection's thread can see of it.
struct GuardedConnectionState {
  HandshakeWatchdog* watchdog = nullptr;
  uint64_t ticket = 0;
  int64_t handshakeMs = 0;  // 0: no deadlines
  int64_t keepAliveMs = 0;  // idle time allowed between requests
  std::string sessionId;    // assigned on first use
};

// The state of the guarded connection this thread is serving, or nullptr.
GuardedConnectionState* currentConnection();

class GuardedHttpServer : public Poco::Net::TCPServer {
 public:
  // `watchdog` must outlive the server. handshakeSeconds 0 turns deadlines
  // off (connections still get session ids).
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
