// Receives on many sockets with one system call: the load generator's side
// of what rtdemo's hub loops do with their sends (service/hub/batch_sender.h).
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
// Where io_uring is not wanted or not allowed, the same queue is received
// from with one recvmsg() per socket, so callers have one path for both.
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
  // Receives queued at once by the load generator and the floor's reader.
  // The first of a batch is handed over only when the whole batch is done:
  // 256 keeps that wait under a millisecond while the system-call cost is
  // already spread thin (1,024 measured the same p99 and a worse p50).
  static constexpr unsigned kSlots = 256;

  // Up to `slots` receives of at most slot_bytes each, through io_uring when
  // use_io_uring, else with one recvmsg() each. If the ring cannot be set up
  // (io_uring forbidden by seccomp or by kernel.io_uring_disabled, say),
  // returns nullptr and puts the reason in *error.
  static std::unique_ptr<BatchReceiver> create(unsigned slots,
                                               size_t slot_bytes,
                                               bool use_io_uring,
                                               std::string* error);
  ~BatchReceiver();
  BatchReceiver(const BatchReceiver&) = delete;
  BatchReceiver& operator=(const BatchReceiver&) = delete;

  bool full() const { return queued_ == slots_.size(); }
  bool usesIoUring() const { return ring_ != nullptr; }

  // Queues one receive on fd, reported back with tag. REQUIRES: !full().
  void add(int fd, void* tag);

  // Makes every queued receive (one io_uring_enter, or one recvmsg() each),
  // then calls
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
    int fd = -1;
    void* tag = nullptr;
    iovec iov{};
    msghdr msg{};
    alignas(cmsghdr) char control[kStampControlBytes];
  };

  // ring: owned, or null to receive with recvmsg().
  BatchReceiver(io_uring* ring, unsigned slots, size_t slot_bytes);
  // Submits the queue and waits until every receive has completed, storing
  // each outcome (bytes, or -errno) in results_.
  void submitAndReap();

  io_uring* ring_;  // owned; null: one recvmsg() per receive
  const size_t slot_bytes_;
  std::vector<Slot> slots_;
  std::vector<char> buffers_;  // slots_.size() * slot_bytes_
  std::vector<int> results_;   // by slot
  size_t queued_ = 0;
};

template <typename Done>
void BatchReceiver::receiveAll(Done done) {
  if (queued_ == 0) return;
  if (ring_ != nullptr) submitAndReap();
  for (size_t i = 0; i < queued_; ++i) {
    Slot& s = slots_[i];
    char* data = buffers_.data() + i * slot_bytes_;
    Received when;
    ssize_t n;
    if (ring_ == nullptr) {
      n = recvStamped(s.fd, data, slot_bytes_, &when);
    } else {
      const int res = results_[i];
      when.read_ns = nowNs();
      when.arrived_ns = res > 0 ? arrivalFromMsg(&s.msg) : 0;
      n = res;
      if (res < 0) {
        errno = -res;
        n = -1;
      }
    }
    done(s.tag, data, n, when);
  }
  queued_ = 0;
}

}  // namespace bench
