// The handshake deadlines, the idle-connection bookkeeping and the watchdog
// thread (see handshake_watchdog.h).
#include "service/security/handshake_watchdog.h"

#include <sys/socket.h>

#include <chrono>

#include "storage/clock.h"
#include "storage/thread_name.h"

namespace rtdemo {

const char* poolName(Pool pool) {
  return pool == Pool::kServer ? "server" : "returned";
}

HandshakeWatchdog::HandshakeWatchdog(std::atomic<uint64_t>* cutOff)
    : cutOff_(cutOff) {}

HandshakeWatchdog::~HandshakeWatchdog() { stop(); }

int64_t HandshakeWatchdog::nowMs() { return steadyMs(); }

void HandshakeWatchdog::start() {
  thread_ = std::thread([this] { run(); });
  nameThread(thread_, "rtdemo-guard");
}

void HandshakeWatchdog::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HandshakeWatchdog::updateMaxIdle(PoolState& p) const {
  p.maxIdle = p.threads * static_cast<size_t>(idlePercent_) / 100;
}

void HandshakeWatchdog::setThreads(Pool pool, size_t threads) {
  std::lock_guard<std::mutex> lock(mu_);
  PoolState& p = pools_[static_cast<size_t>(pool)];
  p.threads = threads;
  updateMaxIdle(p);
}

void HandshakeWatchdog::setIdlePercent(int percent) {
  std::lock_guard<std::mutex> lock(mu_);
  idlePercent_ = percent;
  for (PoolState& p : pools_) updateMaxIdle(p);
}

uint64_t HandshakeWatchdog::add(int fd, Pool pool) {
  SocketIdentity id;
  SocketIdentity::of(fd, &id);
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t t = nextTicket_++;
  watched_.emplace(t, Watched{fd, id, pool, State::kReading, 0});
  pools_[static_cast<size_t>(pool)].connections++;
  return t;
}

void HandshakeWatchdog::setLocked(Watched& w, State state, int64_t deadlineMs) {
  PoolState& p = pools_[static_cast<size_t>(w.pool)];
  if (w.state == State::kIdle) p.idle--;
  if (state == State::kIdle) p.idle++;
  w.state = state;
  w.deadlineMs = deadlineMs;
}

void HandshakeWatchdog::set(uint64_t ticket, State state, int64_t deadlineMs) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = watched_.find(ticket);
  if (it != watched_.end()) setLocked(it->second, state, deadlineMs);
}

void HandshakeWatchdog::arm(uint64_t ticket, int64_t deadlineMs) {
  set(ticket, State::kReading, deadlineMs);
}

void HandshakeWatchdog::disarm(uint64_t ticket) {
  set(ticket, State::kHandling, 0);
}

bool HandshakeWatchdog::armIdle(uint64_t ticket, int64_t deadlineMs) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = watched_.find(ticket);
  if (it == watched_.end()) return false;
  Watched& w = it->second;
  if (w.state != State::kIdle && !mayIdleLocked(w.pool)) {
    setLocked(w, State::kHandling, 0);
    return false;
  }
  setLocked(w, State::kIdle, deadlineMs);
  return true;
}

void HandshakeWatchdog::remove(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = watched_.find(ticket);
  if (it == watched_.end()) return;
  setLocked(it->second, State::kHandling, 0);
  pools_[static_cast<size_t>(it->second.pool)].connections--;
  watched_.erase(it);
}

bool HandshakeWatchdog::stillOurs(const Watched& w) {
  // POCO closes the socket when its session ends, a moment before the
  // connection removes its ticket; a cut falling in that moment must not
  // hit a new connection that reused the descriptor number.
  return w.id.names(w.fd);
}

void HandshakeWatchdog::queue(int fd, int64_t deadlineMs) {
  SocketIdentity id;
  SocketIdentity::of(fd, &id);
  std::lock_guard<std::mutex> lock(mu_);
  queued_[fd] = Queued{id, deadlineMs};
}

int64_t HandshakeWatchdog::claimQueued(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queued_.find(fd);
  if (it == queued_.end()) return 0;
  Queued q = it->second;
  queued_.erase(it);
  // An entry left by an earlier socket with this number (closed in the
  // queue at a stop) is not this connection's.
  return q.id.names(fd) ? q.deadlineMs : 0;
}

bool HandshakeWatchdog::busyLocked(Pool pool) const {
  const PoolState& p = pools_[static_cast<size_t>(pool)];
  return p.threads > 0 && p.connections >= p.threads;
}

bool HandshakeWatchdog::mayIdleLocked(Pool pool) const {
  const PoolState& p = pools_[static_cast<size_t>(pool)];
  return p.threads == 0 || (!busyLocked(pool) && p.idle < p.maxIdle);
}

bool HandshakeWatchdog::busy(Pool pool) {
  std::lock_guard<std::mutex> lock(mu_);
  return busyLocked(pool);
}

bool HandshakeWatchdog::mayIdle(Pool pool) {
  std::lock_guard<std::mutex> lock(mu_);
  return mayIdleLocked(pool);
}

size_t HandshakeWatchdog::relieveLocked(Pool pool) {
  if (!busyLocked(pool) || pools_[static_cast<size_t>(pool)].idle == 0)
    return 0;
  size_t closed = 0;
  for (auto& [ticket, w] : watched_) {
    if (w.pool != pool || w.state != State::kIdle) continue;
    // Once: the connection's thread takes it from here.
    setLocked(w, State::kHandling, 0);
    if (!stillOurs(w)) continue;
    // The read side only: POCO, waiting for the next request, sees a clean
    // end of stream; a request it has just begun to read still gets its
    // answer out.
    ::shutdown(w.fd, SHUT_RD);
    closed++;
  }
  pools_[static_cast<size_t>(pool)].idleClosed += closed;
  return closed;
}

size_t HandshakeWatchdog::relieve(Pool pool) {
  std::lock_guard<std::mutex> lock(mu_);
  return relieveLocked(pool);
}

HandshakeWatchdog::PoolStats HandshakeWatchdog::stats(Pool pool) {
  std::lock_guard<std::mutex> lock(mu_);
  const PoolState& p = pools_[static_cast<size_t>(pool)];
  PoolStats out;
  out.threads = p.threads;
  out.connections = p.connections;
  out.idle = p.idle;
  out.idleClosed = p.idleClosed;
  return out;
}

void HandshakeWatchdog::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // A scan every 250 ms: deadlines are seconds long, and one pass over
    // the connections the pools run (a few dozen) is cheap.
    cv_.wait_for(lock, std::chrono::milliseconds(250));
    int64_t now = nowMs();
    for (auto& [ticket, w] : watched_) {
      if (w.deadlineMs == 0 || w.deadlineMs > now) continue;
      // Once: the connection's thread takes it from here.
      setLocked(w, State::kHandling, 0);
      if (!stillOurs(w)) continue;
      ::shutdown(w.fd, SHUT_RDWR);
      if (cutOff_) cutOff_->fetch_add(1, std::memory_order_relaxed);
    }
    // Queued connections past their deadline are cut where they wait, so
    // the thread that takes one finds it ended; entries of sockets closed
    // meanwhile are dropped.
    for (auto it = queued_.begin(); it != queued_.end();) {
      const Queued& q = it->second;
      if (q.deadlineMs > now) {
        ++it;
        continue;
      }
      if (q.id.names(it->first)) {
        ::shutdown(it->first, SHUT_RDWR);
        if (cutOff_) cutOff_->fetch_add(1, std::memory_order_relaxed);
      }
      it = queued_.erase(it);
    }
    // Connections are relieved as they arrive; this catches a pool that
    // became busy while its idle connections were already idle.
    for (size_t p = 0; p < kPools; ++p) relieveLocked(static_cast<Pool>(p));
  }
}

}  // namespace rtdemo
