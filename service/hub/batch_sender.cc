// Implementation of BatchSender (see batch_sender.h), on liburing.
#include "service/hub/batch_sender.h"

#include <errno.h>
#include <liburing.h>
#include <sys/socket.h>

#include <cstring>

#include "service/hub/out_buffer.h"

namespace rtdemo {

struct BatchSender::Ring {
  io_uring ring;
};

std::unique_ptr<BatchSender> BatchSender::open(unsigned entries, std::string* error) {
  auto ring = std::make_unique<Ring>();
  // No setup flags: the sends complete inside io_uring_enter(), so there is
  // no completion work to defer or to share between threads.
  int r = io_uring_queue_init(entries, &ring->ring, 0);
  if (r < 0) {
    if (error) *error = std::strerror(-r);
    return nullptr;
  }
  return std::unique_ptr<BatchSender>(new BatchSender(std::move(ring), entries));
}

BatchSender::BatchSender(std::unique_ptr<Ring> ring, unsigned entries)
    : ring_(std::move(ring)), entries_(entries) {
  queued_.reserve(entries);
  reported_.reserve(entries);
}

BatchSender::~BatchSender() {
  if (ring_) io_uring_queue_exit(&ring_->ring);
}

void BatchSender::add(int fd, const std::string& bytes, uint64_t tag) {
  queued_.push_back(Queued{fd, &bytes, tag});
}

void BatchSender::submit(const Done& done) {
  if (queued_.empty()) return;
  if (!usable_) {
    sendEachDirectly(done);
    return;
  }
  io_uring* ring = &ring_->ring;
  for (size_t i = 0; i < queued_.size(); ++i) {
    // Never null: at most entries_ are queued and the ring is empty between
    // calls.
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    const Queued& q = queued_[i];
    io_uring_prep_send(sqe, q.fd, q.bytes->data(), q.bytes->size(),
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, i);
  }
  size_t submitted = 0;
  while (submitted < queued_.size()) {
    int r = io_uring_submit(ring);
    if (r == -EINTR) continue;
    if (r <= 0) break;
    submitted += static_cast<size_t>(r);
  }
  // MSG_DONTWAIT makes every submitted send complete before io_uring_enter()
  // returns, so these waits find their completions already there.
  size_t seen = 0;
  reported_.assign(queued_.size(), 0);
  while (seen < submitted) {
    io_uring_cqe* cqe = nullptr;
    int w = io_uring_wait_cqe(ring, &cqe);
    if (w == -EINTR) continue;
    if (w < 0) break;
    const uint64_t i = io_uring_cqe_get_data64(cqe);
    const int result = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    ++seen;
    if (i >= queued_.size() || reported_[i]) continue;
    reported_[i] = true;
    done(queued_[i].tag, result);
  }
  if (seen < submitted || submitted < queued_.size()) {
    // The ring failed. Close it first, so that a send it still holds can
    // never go out after one made below.
    io_uring_queue_exit(ring);
    ring_.reset();
    usable_ = false;
    for (size_t i = 0; i < queued_.size(); ++i) {
      if (reported_[i]) continue;
      if (i < submitted) {
        // Submitted but never completed: whether it went out is unknown, so
        // the connection must not go on as if it had or had not. -EIO closes
        // it; the client resumes from its last id, so nothing is lost.
        done(queued_[i].tag, -EIO);
        continue;
      }
      const Queued& q = queued_[i];
      done(q.tag, sendNow(q.fd, q.bytes->data(), q.bytes->size()));
    }
  }
  queued_.clear();
}

void BatchSender::sendEachDirectly(const Done& done) {
  for (const Queued& q : queued_) done(q.tag, sendNow(q.fd, q.bytes->data(), q.bytes->size()));
  queued_.clear();
}

}  // namespace rtdemo
