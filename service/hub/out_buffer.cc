// Implementation of OutBuffer (see out_buffer.h).
#include "service/hub/out_buffer.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>

namespace rtdemo {

int sendNow(int fd, const char* data, size_t len) {
  for (;;) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<int>(n);
    if (errno != EINTR) return -errno;
  }
}

void OutBuffer::push(const SharedBytes& data, size_t offset) {
  chunks_.push_back(Chunk{data, offset});
  bytes_ += data->size() - offset;
}

void OutBuffer::clear() {
  chunks_.clear();
  chunks_.shrink_to_fit();
  head_ = 0;
  bytes_ = 0;
}

OutBuffer::Result OutBuffer::write(int fd, const SharedBytes& data) {
  if (!empty()) {
    push(data, 0);
    return Result::kBlocked;
  }
  return settle(data, sendNow(fd, data->data(), data->size()));
}

OutBuffer::Result OutBuffer::settle(const SharedBytes& data, int sent) {
  if (sent == -EAGAIN || sent == -EWOULDBLOCK || sent == -EINTR) sent = 0;
  if (sent < 0) return Result::kError;
  if (static_cast<size_t>(sent) == data->size()) return Result::kDone;
  push(data, static_cast<size_t>(sent));
  return Result::kBlocked;
}

OutBuffer::Result OutBuffer::write(int fd, const SharedBytes& first,
                                   const SharedBytes& second) {
  if (!empty()) {
    push(first, 0);
    push(second, 0);
    return Result::kBlocked;
  }
  push(first, 0);
  push(second, 0);
  return flush(fd);
}

OutBuffer::Result OutBuffer::flush(int fd) {
  constexpr size_t kMaxIov = 64;
  while (!empty()) {
    iovec iov[kMaxIov];
    size_t count = 0;
    size_t offered = 0;
    for (size_t i = head_; i < chunks_.size() && count < kMaxIov; ++i) {
      const Chunk& c = chunks_[i];
      iov[count].iov_base = const_cast<char*>(c.data->data() + c.offset);
      iov[count].iov_len = c.data->size() - c.offset;
      offered += iov[count].iov_len;
      ++count;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    ssize_t n;
    do {
      n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Result::kBlocked;
      return Result::kError;
    }
    size_t left = static_cast<size_t>(n);
    bytes_ -= left;
    while (left > 0) {
      Chunk& c = chunks_[head_];
      size_t avail = c.data->size() - c.offset;
      if (left >= avail) {
        left -= avail;
        c.data.reset();
        ++head_;
      } else {
        c.offset += left;
        left = 0;
      }
    }
    if (head_ == chunks_.size()) {
      clear();
      return Result::kDone;
    }
    // Drop written chunks now and then so a long-lived backlog stays small.
    if (head_ > 32 && head_ * 2 > chunks_.size()) {
      chunks_.erase(chunks_.begin(), chunks_.begin() + head_);
      head_ = 0;
    }
    // The kernel took less than we offered: the socket is full.
    if (static_cast<size_t>(n) < offered) return Result::kBlocked;
  }
  return Result::kDone;
}

}  // namespace rtdemo
