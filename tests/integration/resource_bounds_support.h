// The instruments of resource_bounds_test.cc: the server's RSS and its peak
// from /proc, a guard that SIGKILLs it past a ceiling, SSE readers that time
// the gaps between heartbeats, and connections that send a request and then
// never read (or keep a WebSocket alive with pongs). The bounds themselves
// are stated in the test file, next to the cases.
//
// The guard, the sentinels and the pong keeper each run one thread of their
// own from construction to destruction; their accessors are thread-safe.
// The free functions are for the test thread.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/sse_parser.h"
#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace resource_bounds {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr long long kKiB = 1024, kMiB = 1024 * 1024;

// A field of /proc/PID/status in bytes (VmRSS, VmHWM), or -1.
inline long long procStatusBytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atoll(line.c_str() + field.size() + 1) * kKiB;
  }
  return -1;
}

// Resets VmHWM to the current RSS (proc(5), clear_refs "5").
inline bool resetPeakRss(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.close();
  return static_cast<bool>(out);
}

// SIGKILLs `pid` the moment its RSS passes `ceiling`, and remembers it.
class RssGuard {
 public:
  RssGuard(pid_t pid, long long ceiling) : pid_(pid), ceiling_(ceiling) {
    thread_ = std::thread([this] {
      while (!stop_) {
        long long rss = procStatusBytes(pid_, "VmRSS");
        if (rss > ceiling_) {
          tripped_ = rss;
          ::kill(pid_, SIGKILL);
          return;
        }
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  ~RssGuard() {
    stop_ = true;
    thread_.join();
  }
  long long tripped() const { return tripped_; }  // the RSS that tripped it, or 0

 private:
  const pid_t pid_;
  const long long ceiling_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> tripped_{0};
  std::thread thread_;
};

// SSE readers that read everything on a quiet channel and time the gaps
// between the heartbeats each one receives. Several, so that every hub loop
// (connections are dealt to loops in turn) holds at least one.
class HeartbeatSentinels {
 public:
  HeartbeatSentinels(int port, int count = 4) {
    for (int i = 0; i < count; ++i) {
      Reader r;
      r.fd = connectLoopback(port);
      EXPECT_GE(r.fd, 0);
      EXPECT_TRUE(sendGet(r.fd, "/events?channel=sentinel"));
      readers_.push_back(std::move(r));
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~HeartbeatSentinels() {
    stop_ = true;
    thread_.join();
    for (auto& r : readers_) ::close(r.fd);
  }
  // Heartbeats that the reader with the fewest has received.
  int fewestBeats() const {
    std::lock_guard<std::mutex> lock(mu_);
    int fewest = INT32_MAX;
    for (auto& r : readers_) fewest = std::min(fewest, r.beats);
    return fewest;
  }
  // The longest gap between two heartbeats of any reader, including the
  // time since the last one (a loop that stops for good counts too).
  std::chrono::milliseconds longestGap() const {
    std::lock_guard<std::mutex> lock(mu_);
    Clock::duration longest{};
    for (auto& r : readers_) {
      longest = std::max(longest, r.longest);
      if (r.beats > 0) longest = std::max(longest, Clock::now() - r.last);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(longest);
  }
  bool anyClosed() const {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : readers_)
      if (r.closed) return true;
    return false;
  }

 private:
  struct Reader {
    int fd = -1;
    SseParser parser;
    int beats = 0;
    bool closed = false;
    Clock::time_point last;
    Clock::duration longest{};
  };

  void loop() {
    std::vector<pollfd> fds;
    for (auto& r : readers_) fds.push_back({r.fd, POLLIN, 0});
    while (!stop_) {
      if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[16384];
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        std::lock_guard<std::mutex> lock(mu_);
        Reader& r = readers_[i];
        if (n <= 0) {
          r.closed = true;
          fds[i].fd = -1;
          continue;
        }
        // The response head goes through the parser too; it only yields
        // events once the stream's own lines come.
        r.parser.feed(std::string_view(buf, static_cast<size_t>(n)));
        for (const SseEvent& e : r.parser.take()) {
          if (e.type != "heartbeat") continue;
          auto now = Clock::now();
          if (r.beats++ > 0) r.longest = std::max(r.longest, now - r.last);
          r.last = now;
        }
      }
    }
  }

  std::vector<Reader> readers_;  // guarded by mu_ once the thread runs
  mutable std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Silent connections that each sent `request` and never read; a small
// receive buffer, so the kernel holds little and the server holds the rest.
inline std::vector<int> openSilent(int port, int n, const std::string& request) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = connectLoopback(port, 4096);
    if (fd < 0) break;
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      ::close(fd);
      break;
    }
    fds.push_back(fd);
  }
  EXPECT_EQ(fds.size(), static_cast<size_t>(n));
  return fds;
}

// How many of `fds` have received a complete "HTTP/1.1 200" response head
// within `limit`, all read at once (one slow answer does not hold up the
// count of the others). What follows the head is left unread.
inline int answeredHeads(const std::vector<int>& fds, std::chrono::milliseconds limit) {
  std::vector<std::string> got(fds.size());
  std::vector<pollfd> waiting;
  for (int fd : fds) waiting.push_back({fd, POLLIN, 0});
  int answered = 0;
  auto deadline = Clock::now() + limit;
  while (answered < static_cast<int>(fds.size()) && Clock::now() < deadline) {
    if (::poll(waiting.data(), waiting.size(), 100) <= 0) continue;
    for (size_t i = 0; i < waiting.size(); ++i) {
      if (waiting[i].fd < 0 || !(waiting[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = ::recv(waiting[i].fd, buf, sizeof buf, 0);
      if (n > 0) got[i].append(buf, static_cast<size_t>(n));
      bool done = got[i].find("\r\n\r\n") != std::string::npos;
      if (done) answered += got[i].rfind("HTTP/1.1 200", 0) == 0;
      if (done || n <= 0) waiting[i].fd = -1;  // poll() skips negative descriptors
    }
  }
  return answered;
}

// How many of `fds` have at least `bytes` waiting unread.
inline int withUnread(const std::vector<int>& fds, int bytes) {
  int count = 0;
  for (int fd : fds) {
    int n = 0;
    count += ::ioctl(fd, FIONREAD, &n) == 0 && n >= bytes;
  }
  return count;
}

// Sends an unsolicited pong on each WebSocket of `fds` twice a second, from
// construction to destruction.
class PongKeeper {
 public:
  explicit PongKeeper(const std::vector<int>& fds) : fds_(fds) {
    thread_ = std::thread([this] {
      const std::string pong = encodeClientFrame(0x8A, "");
      while (!stop_) {
        for (int fd : fds_) ::send(fd, pong.data(), pong.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        std::this_thread::sleep_for(500ms);
      }
    });
  }
  ~PongKeeper() {
    stop_ = true;
    thread_.join();
  }

 private:
  const std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

inline void closeAll(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

inline std::string getRequest(const std::string& target, const std::string& extraHeaders = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extraHeaders + "\r\n";
}

inline const std::string kWsUpgrade =
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

}  // namespace resource_bounds
}  // namespace rtdemo
