// ConnectionLimits: the subscriber connections that are open now (SSE
// streams, held long polls and WebSockets), counted per client address and in
// total for the stream limits, and listed per channel for GET /presence.
//
// A connection is registered by the pool thread that accepts it, just before
// its socket goes to the hub, and released when the hub lets it go (closed
// or handed back; HubOptions::onRelease calls release()). As a safety net for
// a registration that never reaches the hub, each entry also remembers its
// socket's descriptor and the socket's identity (device and inode, unique
// while the socket exists), and an entry whose descriptor no longer names
// that socket is dropped the next time it matters: when an address reaches
// its limit, when the total does, when a channel's presence is read, and
// every few thousand registrations. fstat() on a descriptor number is safe
// whatever another thread has done with it, so no hub state is touched. The
// result is exact whenever it decides something (a refusal, a presence list).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rtdemo {

struct Subscriber {
  std::string session;
  std::string address;  // client address (client_address.h)
  std::string channel;
  std::string transport;  // "sse", "poll" or "ws"
};

struct LimitDecision {
  int status = 0;  // 0: admitted; 429 (per address) or 503 (total)
  std::string error;
};

class ConnectionLimits {
 public:
  // 0 turns a limit off.
  ConnectionLimits(size_t perAddress, size_t total);

  // Registers the connection on socket `fd` unless a limit is reached.
  // `exempt`: the per-address limit does not apply (it still counts).
  // Registering the same socket again (a kept-alive poll connection parking
  // again) replaces its entry and never refuses.
  LimitDecision open(int fd, const Subscriber& who, bool exempt);

  // Forgets the connection on `fd` at once.
  void release(int fd);

  // The subscribers of `channel` whose connections are still open.
  std::vector<Subscriber> present(const std::string& channel);

  // Open subscriber connections as last counted (may include some closed
  // since the last prune).
  size_t tracked();

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const Identity& o) const {
      return dev == o.dev && ino == o.ino;
    }
  };
  struct Entry {
    Identity id;
    Subscriber who;
  };

  static bool identify(int fd, Identity* out);
  bool alive(int fd, const Entry& e) const;
  void erase(int fd);
  void pruneAddress(const std::string& address);
  void pruneAll();

  // Constant after construction.
  const size_t perAddress_;
  const size_t total_;

  std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<int, Entry> byFd_;
  std::unordered_map<std::string, std::unordered_set<int>> byAddress_;
  std::unordered_map<std::string, std::unordered_set<int>> byChannel_;
  uint64_t opensSincePrune_ = 0;
  int64_t lastFullPruneMs_ = 0;
};

}  // namespace rtdemo
