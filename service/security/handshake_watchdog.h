// HandshakeWatchdog: a request head (and a publish body) must arrive within
// rtdemo.limits.handshake.seconds, or the connection is cut (slowloris); and
// idle kept-alive connections must not take the threads new ones need.
//
// POCO's HTTPServer gives each connection a pool thread and reads the
// request with a per-recv timeout, so a client that sends one byte every
// few seconds holds a thread forever; 32 such clients stop the server. The
// watchdog keeps a deadline per connection and a thread that cuts those
// past it. Who moves the deadlines is the HTTP side: GuardedHttpServer
// (http/guarded_server.h) adds each connection and arms its head deadline,
// and the admission hooks (http/request_security.h) move it:
//   connection accepted        -> armed: head within the limit, counted
//                                 from the accept even while it waits in
//                                 the queue for a thread (queue())
//   head parsed, no body       -> disarmed (a stream or a poll may detach)
//   head parsed, with a body   -> armed again: body within the limit
//   body read (publish parsed) -> disarmed
//   answer sent, keep-alive    -> idle: idle time + head within the limit,
//                                 or sooner if the pool is busy (below)
// A connection past its deadline gets shutdown(): POCO's blocked recv()
// returns and the connection ends normally, on its own thread. The watchdog
// never shuts down a descriptor that has changed hands: disarming happens
// under its mutex before a socket is detached (streams, polls, WebSocket),
// and before it shuts one down it checks that the descriptor still names
// the socket it was given (socket_identity.h; POCO closes the socket a
// moment before the connection removes its ticket).
//
// Kept-alive connections and the pool. POCO holds a pool thread for a
// connection's whole keep-alive life, so idle kept-alive connections could
// take every thread and leave new connections queued behind them (1,000
// idle connections kept a publish waiting for minutes). The watchdog counts
// the connections each pool runs (the server's and the returner's, each
// capped at rtdemo.http.threads) and which of them idle between requests:
//   - At most a share of a pool's threads (rtdemo.limits.keep-alive.
//     idle-percent) may hold idle connections; armIdle() refuses past it,
//     and the hooks answer with Connection: close when mayIdle() is false.
//   - While every thread of a pool holds a connection (busy()), relieve()
//     closes the idle ones: for every connection accepted or handed back,
//     and on each scan, so a queued connection gets a thread at once.
// An idle connection is closed by shutting down its read side: POCO's wait
// for the next request ends as a clean end of stream, and an answer already
// on its way still goes out.
//
// It knows descriptors, deadlines and pools, nothing of HTTP.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "service/security/socket_identity.h"

namespace rtdemo {

// The thread pools whose connections are watched: the HTTP server's, and
// the hand-back dispatcher's (connection_returner.h).
enum class Pool { kServer = 0, kReturned = 1 };
constexpr size_t kPools = 2;
const char* poolName(Pool pool);  // "server", "returned": the metric label

class HandshakeWatchdog {
 public:
  // `cutOff` counts connections shut down for missing their deadline.
  explicit HandshakeWatchdog(std::atomic<uint64_t>* cutOff);
  ~HandshakeWatchdog();

  void start();
  void stop();

  // The threads `pool` may run at once (0, the default: never busy, and
  // idle connections are not capped).
  void setThreads(Pool pool, size_t threads);
  // The share of each pool's threads that idle connections may hold, in
  // percent (default 50).
  void setIdlePercent(int percent);

  // Returns a ticket for the connection on `fd`, run by a thread of
  // `pool`; not armed yet.
  uint64_t add(int fd, Pool pool);
  // Reading a request head or body: cut at `deadlineMs` (steady clock).
  void arm(uint64_t ticket, int64_t deadlineMs);
  // Handling a request: no deadline.
  void disarm(uint64_t ticket);
  // Answered and kept alive, waiting for the next request: cut at
  // `deadlineMs` (0: none), or earlier by relieve(). Returns false, and
  // only disarms, when the pool is busy or holds its share of idle
  // connections: the connection should close instead.
  bool armIdle(uint64_t ticket, int64_t deadlineMs);
  void remove(uint64_t ticket);

  // A connection accepted and waiting in the queue for a thread of the
  // server's pool: its head deadline runs from its accept, not from when a
  // thread takes it, or drip-feeders that filled the threads would keep
  // the queue behind them waiting a whole deadline per thread's worth.
  // Past `deadlineMs` it is shut down even while queued.
  void queue(int fd, int64_t deadlineMs);
  // The deadline queue() gave the connection on `fd` (and forgets it), or 0
  // if it was not queued.
  int64_t claimQueued(int fd);

  // True while every thread of `pool` holds a connection.
  bool busy(Pool pool);
  // Whether a connection of `pool` answered now could idle afterwards (a
  // hint: armIdle() decides).
  bool mayIdle(Pool pool);
  // If `pool` is busy, closes its idle kept-alive connections; returns how
  // many.
  size_t relieve(Pool pool);

  struct PoolStats {
    size_t threads = 0;       // as set by setThreads()
    size_t connections = 0;   // connections its threads run now
    size_t idle = 0;          // of which kept alive between requests
    uint64_t idleClosed = 0;  // idle ones closed by relieve(), ever
  };
  PoolStats stats(Pool pool);

  static int64_t nowMs();

 private:
  enum class State { kReading, kHandling, kIdle };
  struct Watched {
    int fd;
    SocketIdentity id;  // the socket's identity when added (see stillOurs())
    Pool pool;
    State state;
    int64_t deadlineMs;  // 0: none
  };
  struct PoolState {
    size_t threads = 0;
    size_t maxIdle = 0;  // threads x idle percent
    size_t connections = 0;
    size_t idle = 0;  // connections in State::kIdle
    uint64_t idleClosed = 0;
  };

  void run();
  static bool stillOurs(const Watched& w);
  // REQUIRES: mu_ held.
  void setLocked(Watched& w, State state, int64_t deadlineMs);
  void set(uint64_t ticket, State state, int64_t deadlineMs);
  bool busyLocked(Pool pool) const;
  bool mayIdleLocked(Pool pool) const;
  size_t relieveLocked(Pool pool);
  void updateMaxIdle(PoolState& p) const;

  std::atomic<uint64_t>* const cutOff_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::map<uint64_t, Watched> watched_;
  struct Queued {
    SocketIdentity id;
    int64_t deadlineMs;
  };
  std::map<int, Queued> queued_;  // by descriptor; see queue()
  PoolState pools_[kPools];
  int idlePercent_ = 50;
  uint64_t nextTicket_ = 1;
  bool stopping_ = false;
};

}  // namespace rtdemo
