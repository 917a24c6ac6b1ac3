// RedisServer: a private redis-server for the Redis tests.
//
// Each instance runs redis-server on a loopback port the OS picked, in its own
// temporary directory, with AOF on (appendonly yes, no RDB snapshots), and
// removes everything when destroyed. stop() and start() let a test restart it
// on the same port and directory, so what AOF kept comes back.
//
// If redis-server is not installed, the constructor fails the test with a
// message naming the setup command; Redis tests are never skipped.
//
// Not thread-safe: one test thread drives it.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace rtdemo {

class RedisConnection;

class RedisServer {
 public:
  // `appendfsync`: always, everysec or no.
  explicit RedisServer(std::string appendfsync = "everysec");
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }  // for SIGSTOP/SIGCONT: a Redis that hangs
  const std::string& dir() const { return dir_; }

  // Sends `signal` (SIGTERM: a clean shutdown that flushes the AOF; SIGKILL:
  // a crash) and waits for the process to exit.
  bool stop(int signal = SIGTERM);
  // Starts it again on the same port and directory; waits until it answers
  // PING. Returns false (and fails the test) if it does not come up.
  bool start();

  // Runs one command on a fresh connection; returns the reply as text (an
  // array as its elements joined by '\n'), or "ERROR: ..." on failure.
  std::string command(const std::vector<std::string>& argv);

  // Where redis-server is, or "" if it is not installed.
  static std::string findBinary(const char* name = "redis-server");
  // The one line a test prints when the binary is missing.
  static std::string missingMessage(const char* name = "redis-server");

 private:
  bool launch();

  const std::string appendfsync_;
  std::string binary_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The arguments that run rtdemo on `redis` with key prefix `prefix`, and
// the short heartbeat (1 s), retry hint (500 ms) and Redis timeout (1 s)
// the integration tests wait on; `extra` follows (a later -D of a key wins).
std::vector<std::string> rtdemoOnRedis(const RedisServer& redis, const std::string& prefix,
                                       std::vector<std::string> extra = {});

}  // namespace rtdemo
