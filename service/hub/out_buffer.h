// OutBuffer: what a connection still has to write, as shared event buffers.
//
// A message is encoded once and the same immutable string is queued on every
// connection that has not taken it yet (see hub.h), so a backlog costs one
// pointer and an offset per message per slow connection, never a copy. An
// empty OutBuffer allocates nothing, which matters at 19,000 idle subscribers.
//
// Not thread-safe: owned by one hub loop.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace rtdemo {

using SharedBytes = std::shared_ptr<const std::string>;

// Bytes made once and then only shared: an event, a frame, an answer.
inline SharedBytes share(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

// One send() that never blocks and never raises SIGPIPE: bytes written, or
// -errno (-EAGAIN when the socket is full).
int sendNow(int fd, const char* data, size_t len);

class OutBuffer {
 public:
  enum class Result {
    kDone,     // everything queued has been written
    kBlocked,  // the socket is full; wait for EPOLLOUT
    kError,    // the peer is gone
  };

  bool empty() const { return head_ == chunks_.size(); }
  size_t bytes() const { return bytes_; }

  // Writes `data` to `fd` now if nothing is queued, and queues what the
  // socket did not take. Never blocks.
  Result write(int fd, const SharedBytes& data);
  // The same for two pieces that belong together (a response head of one
  // connection and a body shared by many), in one system call.
  Result write(int fd, const SharedBytes& first, const SharedBytes& second);

  // Takes the outcome of a send of `data` made elsewhere while this buffer
  // was empty (BatchSender): `sent` is bytes written or -errno, and what
  // the socket did not take is queued, as write() would have.
  Result settle(const SharedBytes& data, int sent);

  // Writes queued data until done or the socket is full.
  Result flush(int fd);

  void clear();

 private:
  struct Chunk {
    SharedBytes data;
    size_t offset;
  };
  void push(const SharedBytes& data, size_t offset);

  std::vector<Chunk> chunks_;
  size_t head_ = 0;  // chunks_[0, head_) are fully written
  size_t bytes_ = 0;
};

}  // namespace rtdemo
