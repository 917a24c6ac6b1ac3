// SocketIdentity: which socket a descriptor number names, as fstat() sees it
// (its device and inode).
//
// A descriptor number is reused as soon as its socket closes; the identity
// is unique while the socket exists. Code that remembers a number beyond the
// moment it was handed the socket (ConnectionLimits' entries, the
// HandshakeWatchdog's tickets and queue) keeps its identity too, and checks
// with names() that the number still names that socket before it counts it
// or shuts it down. fstat() on any number is safe whatever another thread
// has done with it (closed it, or had it reused), so the check touches no
// other part's state.
//
// Thread safety: a value type; of() and names() may run on any thread.
#pragma once

#include <sys/types.h>

namespace rtdemo {

struct SocketIdentity {
  dev_t dev = 0;
  ino_t ino = 0;

  // The identity of the socket on `fd`. False, and *out unchanged, when
  // `fd` is not an open socket.
  static bool of(int fd, SocketIdentity* out);

  // True while `fd` names this socket (false for an identity of() never
  // filled).
  bool names(int fd) const;

  bool operator==(const SocketIdentity& o) const {
    return dev == o.dev && ino == o.ino;
  }
};

}  // namespace rtdemo
