// Receives on many sockets with one system call: the load generator's side
// of what rtdemo's hub loops do with their sends (service/batch_sender.h).
//
// Why: one message to 1,000 subscribers makes 1,000 sockets readable at
// once, and the last of them waits for the one reader thread to get through
// all the others, so the reader's own cost becomes part of every "latency"
// it reports. A profile of one recvmsg() per socket put that cost at ~7 µs
// each on this machine, a quarter of it the entry and exit of the system
// call (costly on this paravirtualised VM). Here the receives one epoll
// round reported are queued as io_uring recvmsg requests and submitted
// together. Each carries MSG_DONTWAIT, which io_uring turns into "never
// wait": every receive completes inside the submit, exactly as the
// recvmsg() it replaces would (bytes, 0 at EOF, -EAGAIN, an error), with the
// same kernel receive timestamp. TCP sees the same reads either way.
//
// Threading: one instance per thread; nothing here is thread-safe.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net_util.h"

struct io_uring;

namespace bench {

class BatchReceiver {
 public:
  // Sets up a ring for up to `slots` receives of at most slot_bytes each.
  // On failure (io_uring forbidden by seccomp or by
  // kernel.io_uring_disabled, say) returns nullptr and puts the reason in
  // *error.
  static std::unique_ptr<BatchReceiver> create(unsigned slots,
                                               size_t slot_bytes,
                                               std::string* error);
  ~BatchReceiver();
  BatchReceiver(const BatchReceiver&) = delete;
  BatchReceiver& operator=(const BatchReceiver&) = delete;

  bool full() const { return queued_ == slots_.size(); }

  // Queues one receive on fd, reported back with tag. REQUIRES: !full().
  void add(int fd, void* tag);

  // Submits every queued receive in one io_uring_enter, then calls
  //   done(tag, data, n, when)
  // for each in the order queued: n > 0 bytes at data, 0 at EOF, or -1 with
  // errno set, as recvStamped() reports. when.read_ns is taken as each one is
  // handed over, so the time spent on earlier ones counts, as it does when
  // receiving one by one. data is valid only during the call. done must not
  // call add().
  template <typename Done>
  void receiveAll(Done done);

 private:
  struct Slot {
    void* tag = nullptr;
    iovec iov{};
    msghdr msg{};
    alignas(cmsghdr) char control[kStampControlBytes];
  };

  BatchReceiver(io_uring* ring, unsigned slots, size_t slot_bytes);
  // Submits the queue and waits until every receive has completed, storing
  // each outcome (bytes, or -errno) in results_.
  void submitAndReap();

  io_uring* ring_;  // owned
  const size_t slot_bytes_;
  std::vector<Slot> slots_;
  std::vector<char> buffers_;  // slots_.size() * slot_bytes_
  std::vector<int> results_;   // by slot
  size_t queued_ = 0;
};

template <typename Done>
void BatchReceiver::receiveAll(Done done) {
  if (queued_ == 0) return;
  submitAndReap();
  for (size_t i = 0; i < queued_; ++i) {
    Slot& s = slots_[i];
    const int res = results_[i];
    Received when;
    when.read_ns = nowNs();
    when.arrived_ns = res > 0 ? arrivalFromMsg(&s.msg) : 0;
    ssize_t n = res;
    if (res < 0) {
      errno = -res;
      n = -1;
    }
    done(s.tag, buffers_.data() + i * slot_bytes_, n, when);
  }
  queued_ = 0;
}

}  // namespace bench
