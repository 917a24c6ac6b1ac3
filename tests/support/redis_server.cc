// Implementation of RedisServer (see redis_server.h).
#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ftw.h>

#include <gtest/gtest.h>

#include "storage/redis_connection.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

int removeEntry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path);
}

std::string flatten(const redisReply* r) {
  if (r == nullptr) return "";
  if (r->type == REDIS_REPLY_ARRAY) {
    std::string out;
    for (size_t i = 0; i < r->elements; ++i) {
      if (i) out += "\n";
      out += flatten(r->element[i]);
    }
    return out;
  }
  if (r->type == REDIS_REPLY_ERROR) return "ERROR: " + std::string(r->str, r->len);
  return replyString(r);
}

// A loopback port that was free a moment ago. redis-server cannot listen on
// port 0 and say which port it got, so the fixture probes one and hands it
// over; launch() then makes sure the server answering there is its own.
int probeFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

}  // namespace

std::string RedisServer::findBinary(const char* name) {
  std::string path = ::getenv("PATH") ? ::getenv("PATH") : "";
  path += ":/usr/bin:/usr/local/bin:/usr/sbin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string RedisServer::missingMessage(const char* name) {
  return std::string(name) +
         " is not installed, so the Redis tests cannot run. Install it with the "
         "README's setup command (sudo apt-get install redis-server redis-tools).";
}

RedisServer::RedisServer(std::string appendfsync) : appendfsync_(std::move(appendfsync)) {
  binary_ = findBinary();
  if (binary_.empty()) {
    ADD_FAILURE() << missingMessage();
    return;
  }
  char tmpl[] = "/tmp/rtdemo-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    ADD_FAILURE() << "cannot create a temporary directory for redis-server";
    return;
  }
  dir_ = tmpl;
  // The port comes from the OS; another process could take it between our
  // probe and redis-server's bind, so try a few.
  for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
    port_ = probeFreePort();
    launch();
  }
  if (pid_ <= 0) ADD_FAILURE() << "redis-server did not start; see " << dir_ << "/redis.log";
}

RedisServer::~RedisServer() {
  stop(SIGKILL);
  if (!dir_.empty()) ::nftw(dir_.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
}

bool RedisServer::launch() {
  std::vector<std::string> args = {binary_,
                                   "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1",
                                   "--dir", dir_,
                                   "--appendonly", "yes",
                                   "--appendfsync", appendfsync_,
                                   "--save", "",
                                   "--daemonize", "no",
                                   "--logfile", dir_ + "/redis.log"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    // A test process that dies (a timeout, a crash) must not leave its
    // redis-server behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::execv(binary_.c_str(), argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  bool exited = false;
  // Up when the server on the port is this process: if another process
  // (another test's redis-server) took the port first, it would answer
  // PING too, while ours fails to bind and exits. Serving once the AOF is
  // loaded.
  const std::string mine = "process_id:" + std::to_string(pid_) + "\r\n";
  bool up = waitUntil(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) exited = true;
        if (exited) return true;
        std::string info = command({"INFO"});  // server and persistence
        return info.find(mine) != std::string::npos &&
               info.find("loading:0\r\n") != std::string::npos;
      },
      std::chrono::seconds(20));
  if (exited) {  // the port was taken, say; redis.log tells
    pid_ = -1;
    return false;
  }
  if (!up) {
    stop(SIGKILL);
    return false;
  }
  return true;
}

bool RedisServer::stop(int signal) {
  if (pid_ <= 0) return true;
  ::kill(pid_, signal);
  int status = 0;
  bool exited = waitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                          std::chrono::seconds(20));
  if (!exited) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return exited;
}

bool RedisServer::start() {
  if (pid_ > 0) return true;
  if (binary_.empty()) {
    ADD_FAILURE() << missingMessage();
    return false;
  }
  // AOF replay may take a moment; launch() waits for PING.
  if (!launch()) {
    ADD_FAILURE() << "redis-server did not restart on port " << port_ << "; see " << dir_
                  << "/redis.log";
    return false;
  }
  return true;
}

std::string RedisServer::command(const std::vector<std::string>& argv) {
  RedisEndpoint endpoint;
  endpoint.port = port_;
  endpoint.timeoutMs = 1000;
  RedisConnection conn(endpoint);
  RedisReplyPtr reply;
  Status s = conn.command(argv, &reply);
  if (!s.ok()) return "ERROR: " + s.message();
  return flatten(reply.get());
}

std::vector<std::string> rtdemoOnRedis(const RedisServer& redis, const std::string& prefix,
                                       std::vector<std::string> extra) {
  std::vector<std::string> args = {"--backend", "redis",
                                   "-D", "rtdemo.redis.host=127.0.0.1",
                                   "-D", "rtdemo.redis.port=" + std::to_string(redis.port()),
                                   "-D", "rtdemo.redis.prefix=" + prefix,
                                   "-D", "rtdemo.redis.timeout.ms=1000",
                                   "-D", "rtdemo.heartbeat.seconds=1",
                                   "-D", "rtdemo.retry.ms=500"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace rtdemo
