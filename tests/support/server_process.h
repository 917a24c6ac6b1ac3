// ServerProcess: the real build/rtdemo, started for a test on a port the OS
// picked, and stopped with the signal the test chooses.
//
// The binary comes from the RTDEMO_BIN compile definition (set by CMake to
// the rtdemo target). Every server starts with the demo ticker off and the
// repository's etc/rtdemo.properties, plus the test's own arguments; its
// stderr goes to a temporary file the test can read.
//
// Ports: rtdemo binds port 0 itself and writes the port it got to the file
// named by rtdemo.port-file, which the fixture reads. Nothing probes for a
// free port and hands it over, which would race with every other test
// process on the machine (ctest -j, other checkouts). A test that restarts
// a server where its clients expect it passes the first run's port() on.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace rtdemo {

class ServerProcess {
 public:
  // Starts rtdemo with `args` on `port` (0: one the OS picks) and waits
  // until it has written its port file, which it does once the port
  // accepts connections. Fails the test (ADD_FAILURE) if it exits first,
  // unless `mustStart` is false: then the caller looks at ready() and
  // stderrText() (a restart that may find its port taken, say).
  explicit ServerProcess(std::vector<std::string> args = {}, int port = 0, bool mustStart = true);
  ~ServerProcess();  // SIGKILL if still running

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }

  // Sends `signal` and waits for exit; returns the exit code (128+signal if
  // killed), or -1 if it did not exit within `limit`.
  int stop(int signal, std::chrono::milliseconds limit = std::chrono::seconds(10));

  std::string stderrText() const;
  // Sockets the server process holds open right now (the listener, and one
  // per client connection). Other descriptors are left out on purpose: POCO
  // opens a short-lived epoll descriptor on every poll of a socket.
  int openSockets() const;

  struct Exit {
    int code = -1;
    std::string stderrText;
  };
  // Runs rtdemo with `args` expecting it to exit by itself (bad configs).
  static Exit runToExit(const std::vector<std::string>& args,
                        std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  static pid_t spawn(const std::vector<std::string>& args, const std::string& errPath);

  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
  std::string errPath_;
  std::string portPath_;  // rtdemo.port-file
};

// A loopback port where nothing listens and nothing can while this object
// lives: a socket holds it bound (without SO_REUSEADDR) and never listens, so
// connecting is refused at once. For "the backend is unreachable" tests; a
// port merely probed free could be taken by another test's server meanwhile.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Waits until `pred` is true or `limit` passes; returns the last value.
template <typename Pred>
bool waitUntil(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return pred();
}

}  // namespace rtdemo
