// Helpers for the security tests (auth_test.cc, limits_test.cc): tokens
// from the real rtdemo-token tool, raw connections that send exactly the
// bytes a test wants, and the checks that a refusal changed nothing.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "tests/support/http_client.h"

namespace rtdemo {

// Long enough for the server's 32-byte minimum.
inline const std::string kTestSecret =
    "test-secret-0123456789-abcdefghijklmnop";

// Runs build/rtdemo-token with `args` (the secret is added) and returns the
// token it prints.
inline std::string makeToken(const std::string& args,
                             const std::string& secret = kTestSecret) {
  std::string cmd =
      std::string(RTDEMO_TOKEN_BIN) + " --secret '" + secret + "' " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "";
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << cmd;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

inline std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

inline HttpResponse sendForm(
    int port, const std::string& channel, const std::string& data,
    const std::map<std::string, std::string>& headers = {}) {
  return httpRequest(
      port, "POST", "/send",
      "channel=" + urlEncode(channel) + "&data=" + urlEncode(data),
      "application/x-www-form-urlencoded", headers);
}

// The channel's cursor now; pass it to expectNothingStored() afterwards.
inline std::string cursorOf(
    int port, const std::string& channel,
    const std::map<std::string, std::string>& headers = {}) {
  HttpResponse r =
      httpGet(port, "/poll?timeout=0&channel=" + urlEncode(channel), headers);
  EXPECT_EQ(r.status, 200) << r.body;
  return jsonField(r.body, "last_id");
}

// Nothing was published to `channel` after `cursor`.
inline void expectNothingStored(
    int port, const std::string& channel, const std::string& cursor,
    const std::map<std::string, std::string>& headers = {}) {
  HttpResponse r = httpGet(port,
                           "/poll?timeout=0&channel=" + urlEncode(channel) +
                               "&since=" + urlEncode(cursor),
                           headers);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"messages\":[]"), std::string::npos) << r.body;
}

// A connection that sends `request` as given and reads the answer head.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(connectLoopback(port)) {}
  ~RawConnection() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads until `needle` appears, the peer closes, or the timeout passes.
  bool readUntil(const std::string& needle,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      if (!readSome(deadline)) return false;
    }
    return true;
  }
  // True once the server closed the connection (EOF or reset).
  bool waitForClose(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_) {
      if (!readSome(deadline) && !closed_) return false;
    }
    return true;
  }
  int status() const {
    size_t sp = received_.find(' ');
    return sp == std::string::npos ? 0 : std::atoi(received_.c_str() + sp + 1);
  }
  const std::string& received() const { return received_; }

 private:
  bool readSome(std::chrono::steady_clock::time_point deadline) {
    if (closed_ || fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
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

// GET `target` with extra header lines (each ending in \r\n).
inline std::string getRequest(int port, const std::string& target,
                              const std::string& headers = "") {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
         headers + "\r\n";
}

}  // namespace rtdemo
