// The one interface the load generator's epoll loop knows: every registered
// fd belongs to a Connection, stored in epoll_data.ptr. Connections are owned
// by LoadRun for the whole run and never freed while the loop runs, so a
// stale pointer in a batch of events cannot dangle.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "net_util.h"

namespace bench {

class Connection {
 public:
  virtual ~Connection() = default;
  // Readiness reported by epoll (EPOLLIN, EPOLLOUT, EPOLLERR, ...), when
  // receiveFd(events) is -1.
  virtual void onEvent(uint32_t events) = 0;
  // The socket to receive from when all this connection would do with
  // `events` is one receive; -1 when it needs onEvent() (connecting,
  // flushing). LoadRun then makes the receive, batched with the others of
  // the same epoll round (see BatchReceiver), and calls onReceived().
  virtual int receiveFd(uint32_t events) const {
    (void)events;
    return -1;
  }
  // The outcome of a receive on receiveFd(): n bytes at data (valid only
  // during the call), 0 at EOF, or -1 with errno set; `when` as in Received.
  virtual void onReceived(const char* data, ssize_t n, const Received& when) {
    (void)data;
    (void)n;
    (void)when;
  }
  // A delay asked for with LoadRun::scheduleRetry has passed.
  virtual void onRetry() = 0;
};

}  // namespace bench
