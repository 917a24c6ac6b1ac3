// ConnectionLimits: the subscriber connections that are open now (SSE
// streams, held long polls and WebSockets), counted per client address and in
// total for the stream limits, and listed per channel for GET /presence.
//
// HTTP connections kept alive between requests count too, per address only:
// each holds a pool thread while it idles, so one address must not hold more
// of them than of streams (holdIdle(), called by the HTTP admission hooks
// of http/request_security.h before an answer goes out with keep-alive).
// They are neither streams nor present anywhere, so the total limit,
// tracked() and present() leave them out. A kept-alive connection that
// becomes a stream keeps its place: open() turns its entry into the
// stream's without counting it again.
//
// A connection is registered by the pool thread that accepts it, just before
// its socket goes to the hub, and released when the hub lets it go (closed
// or handed back; HubOptions::onRelease calls release()). As a safety net for
// a registration that never reaches the hub, each entry also remembers its
// socket's descriptor and the socket's identity (socket_identity.h), and an
// entry whose descriptor no longer names that socket is dropped the next
// time it matters: when an address reaches its limit, when the total does,
// when a channel's presence is read, and every few thousand registrations.
// No hub state is touched. The result is exact whenever it decides something
// (a refusal, a presence list).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "service/security/socket_identity.h"
#include "service/security/transport.h"

namespace rtdemo {

struct Subscriber {
  std::string session;
  std::string address;  // client address (client_address.h)
  std::string channel;
  Transport transport = Transport::kSse;  // kSse, kPoll or kWebSocket
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
  // again) replaces its entry and never refuses; a socket registered by
  // holdIdle() is checked against the total only.
  LimitDecision open(int fd, const Subscriber& who, bool exempt);

  // Forgets the connection on `fd` at once.
  void release(int fd);

  // The identity of an open socket, for releaseIdle().
  using Identity = SocketIdentity;

  // Counts the HTTP connection on `fd` against `address` while it is kept
  // alive. False when the address holds its limit (the connection should
  // then close after its answer); true, and nothing changes, for a socket
  // already registered. *id is set whenever it returns true.
  bool holdIdle(int fd, const std::string& address, bool exempt, Identity* id);
  // Forgets a holdIdle() registration: only if `fd` still has the entry
  // holdIdle() made for socket `id` (not a stream's, not a later socket's
  // that reused the number).
  void releaseIdle(int fd, const Identity& id);

  // The subscribers of `channel` whose connections are still open.
  std::vector<Subscriber> present(const std::string& channel);

  // Open subscriber connections as last counted (may include some closed
  // since the last prune).
  size_t tracked();
  // Kept-alive HTTP connections registered by holdIdle() now.
  size_t trackedIdle();

 private:
  struct Entry {
    Identity id;
    Subscriber who;
    bool idle = false;  // holdIdle(): no channel, not a stream
  };

  static bool alive(int fd, const Entry& e) { return e.id.names(fd); }
  void erase(int fd);
  void pruneAddress(const std::string& address);
  void pruneAll();
  // REQUIRES: mu_ held. False when `address` holds its limit, after a prune.
  bool addressHasRoom(const std::string& address);

  // Constant after construction.
  const size_t perAddress_;
  const size_t total_;

  std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<int, Entry> byFd_;  // streams and kept-alive
  std::unordered_map<std::string, std::unordered_set<int>> byAddress_;
  std::unordered_map<std::string, std::unordered_set<int>> byChannel_;
  size_t idle_ = 0;  // entries of byFd_ that are kept-alive connections
  uint64_t opensSincePrune_ = 0;
  int64_t lastFullPruneMs_ = 0;
};

}  // namespace rtdemo
