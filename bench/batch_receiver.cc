// Receives on many sockets with one io_uring submission (see
// batch_receiver.h).
#include "batch_receiver.h"

#include <liburing.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench {

std::unique_ptr<BatchReceiver> BatchReceiver::create(unsigned slots,
                                                     size_t slot_bytes,
                                                     bool use_io_uring,
                                                     std::string* error) {
  if (!use_io_uring) {
    return std::unique_ptr<BatchReceiver>(
        new BatchReceiver(nullptr, slots, slot_bytes));
  }
  auto* ring = new io_uring;
  int r = io_uring_queue_init(slots, ring, 0);
  if (r < 0) {
    delete ring;
    *error = std::string("io_uring_queue_init: ") + std::strerror(-r);
    return nullptr;
  }
  return std::unique_ptr<BatchReceiver>(
      new BatchReceiver(ring, slots, slot_bytes));
}

BatchReceiver::BatchReceiver(io_uring* ring, unsigned slots, size_t slot_bytes)
    : ring_(ring),
      slot_bytes_(slot_bytes),
      slots_(slots),
      buffers_(static_cast<size_t>(slots) * slot_bytes),
      results_(slots, 0) {}

BatchReceiver::~BatchReceiver() {
  if (ring_ == nullptr) return;
  io_uring_queue_exit(ring_);
  delete ring_;
}

void BatchReceiver::add(int fd, void* tag) {
  Slot& s = slots_[queued_];
  s.fd = fd;
  s.tag = tag;
  if (ring_ == nullptr) {
    ++queued_;
    return;
  }
  prepareStampedMsg(buffers_.data() + queued_ * slot_bytes_, slot_bytes_,
                    s.control, &s.iov, &s.msg);
  // The ring has as many entries as there are slots and every
  // receiveAll() empties it, so there is always a free entry.
  io_uring_sqe* sqe = io_uring_get_sqe(ring_);
  io_uring_prep_recvmsg(sqe, fd, &s.msg, MSG_DONTWAIT);
  io_uring_sqe_set_data64(sqe, queued_);
  ++queued_;
}

void BatchReceiver::submitAndReap() {
  // With MSG_DONTWAIT every receive completes inside the submit; the wait
  // only collects them. A submit cut short (EINTR, say) is repeated:
  // io_uring_submit_and_wait() resubmits what the kernel did not consume.
  size_t reaped = 0;
  while (reaped < queued_) {
    int r = io_uring_submit_and_wait(ring_,
                                     static_cast<unsigned>(queued_ - reaped));
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      // Nothing the load generator does can cause this, and a half-consumed
      // ring cannot be trusted with the next batch: stop the run, loudly.
      std::fprintf(stderr, "loadgen: io_uring submit failed: %s\n",
                   std::strerror(-r));
      std::exit(1);
    }
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring_, head, cqe) {
      results_[io_uring_cqe_get_data64(cqe)] = cqe->res;
      ++seen;
    }
    io_uring_cq_advance(ring_, seen);
    reaped += seen;
  }
}

}  // namespace bench
