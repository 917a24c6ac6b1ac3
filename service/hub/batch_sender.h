// BatchSender: many send()s to different sockets in one system call.
//
// A fan-out writes one small event to every subscriber of a channel. Profiles
// of 1,000 and 19,000 subscribers showed the system-call entry and exit of
// each send() to be about a quarter of its cost on these machines, and there
// is no system call that sends to several TCP sockets. io_uring has one: a
// hub loop queues the sends of one message here and submits them together.
//
// Every send is queued with MSG_DONTWAIT, which io_uring treats as "never
// wait": each one runs inside submit() exactly as send(MSG_DONTWAIT) would
// have, and its result (bytes written, -EAGAIN for a full socket, or another
// -errno) is known when submit() returns. So the bytes on each socket are in
// the order they would have been, and a caller handles a short or blocked
// send just as it does after send().
//
// io_uring may be unavailable: an old kernel, kernel.io_uring_disabled, or a
// seccomp filter (Docker's default profile, systemd's @system-service). open()
// then fails with the reason, and the caller sends one socket at a time.
//
// Not thread-safe: one per hub loop, used only by its thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rtdemo {

class BatchSender {
 public:
  // Result of one send: bytes written, or -errno.
  using Done = std::function<void(uint64_t tag, int result)>;

  // A sender that submits at most `entries` sends at a time, or null with
  // *error saying why io_uring cannot be used here.
  static std::unique_ptr<BatchSender> open(unsigned entries, std::string* error);
  ~BatchSender();
  BatchSender(const BatchSender&) = delete;
  BatchSender& operator=(const BatchSender&) = delete;

  bool empty() const { return queued_.empty(); }
  bool full() const { return queued_.size() >= entries_; }

  // Queues a send of `bytes` to `fd`; submit() reports it under `tag`.
  // `bytes` must stay alive and unchanged until submit() returns. Call only
  // when !full().
  void add(int fd, const std::string& bytes, uint64_t tag);

  // Sends everything queued and calls done(tag, result) once per send, in
  // no particular order. If the ring itself fails, the sends are made one
  // by one with send() instead (and usable() turns false), so every queued
  // send is reported exactly once either way.
  void submit(const Done& done);

  // False once the ring has failed; the owner should stop using it.
  bool usable() const { return usable_; }

 private:
  struct Ring;
  struct Queued {
    int fd;
    const std::string* bytes;
    uint64_t tag;
  };
  BatchSender(std::unique_ptr<Ring> ring, unsigned entries);
  void sendEachDirectly(const Done& done);

  std::unique_ptr<Ring> ring_;
  const unsigned entries_;
  std::vector<Queued> queued_;
  std::vector<uint8_t> reported_;  // per queued send, during submit()
  bool usable_ = true;
};

}  // namespace rtdemo
