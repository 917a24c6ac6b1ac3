// SocketReader: the test's end of a connection, read as raw bytes until
// what the test expects has arrived, the peer closed, or a deadline passed.
// Shared by the integration tests' RawConnection (auth_support.h) and the
// hub's socketpair tests (tests/unit/hub_states_test.cc).
//
// Owns the descriptor. Not thread-safe.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace rtdemo {

class SocketReader {
 public:
  explicit SocketReader(int fd) : fd_(fd) {}
  ~SocketReader() { close(); }
  SocketReader(const SocketReader&) = delete;
  SocketReader& operator=(const SocketReader&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  // Reads until `needle` is among the bytes received and not yet taken,
  // the peer closes, or the timeout passes.
  bool readUntil(const std::string& needle,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      if (!readSome(deadline)) return false;
    }
    return true;
  }
  // readUntil(), then takes the bytes up to and including `needle` and
  // returns them; "" if it never came.
  std::string readThrough(const std::string& needle,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (!readUntil(needle, timeout)) return "";
    size_t end = received_.find(needle) + needle.size();
    std::string taken = received_.substr(0, end);
    received_.erase(0, end);
    return taken;
  }
  // True once the peer closed the connection (EOF or reset).
  bool waitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_) {
      if (!readSome(deadline) && !closed_) return false;
    }
    return true;
  }
  // Nothing untaken has arrived and the connection is open, right now.
  bool quiet() {
    if (!received_.empty() || closed_) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
  // The bytes received and not yet taken by readThrough().
  const std::string& received() const { return received_; }

 private:
  bool readSome(std::chrono::steady_clock::time_point deadline) {
    if (closed_ || fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  bool closed_ = false;
  std::string received_;
};

}  // namespace rtdemo
