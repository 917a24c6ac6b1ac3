// The one interface the load generator's epoll loop knows: every registered
// fd belongs to a Connection, stored in epoll_data.ptr. Connections are owned
// by LoadRun for the whole run and never freed while the loop runs, so a
// stale pointer in a batch of events cannot dangle.
#pragma once

#include <cstdint>

namespace bench {

class Connection {
 public:
  virtual ~Connection() = default;
  // Readiness reported by epoll (EPOLLIN, EPOLLOUT, EPOLLERR, ...).
  virtual void onEvent(uint32_t events) = 0;
  // A delay asked for with LoadRun::scheduleRetry has passed.
  virtual void onRetry() = 0;
};

}  // namespace bench
