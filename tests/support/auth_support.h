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
#include "tests/support/socket_reader.h"

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
class RawConnection : public SocketReader {
 public:
  explicit RawConnection(int port) : SocketReader(connectLoopback(port)) {}
  int status() const {
    size_t sp = received().find(' ');
    return sp == std::string::npos ? 0 : std::atoi(received().c_str() + sp + 1);
  }
};

// GET `target` with extra header lines (each ending in \r\n).
inline std::string getRequest(int port, const std::string& target,
                              const std::string& headers = "") {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
         headers + "\r\n";
}

}  // namespace rtdemo
