// Kept-alive HTTP connections against the real build/rtdemo (issue 18).
//
// POCO's HTTPServer holds one pool thread for a connection's whole
// keep-alive life, so idle connections could take every thread and leave
// new requests queued behind them. rtdemo closes idle kept-alive
// connections when every pool thread is held, answers with Connection:
// close while it is so, and counts kept-alive connections in the
// per-address connection limit (README "Kept-alive connections").
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "tests/support/auth_support.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// Connections that sent one request each and read whatever comes back.
struct Idlers {
  std::vector<int> fds;
  std::vector<std::string> received;
  std::vector<bool> eof;

  ~Idlers() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }

  // Reads what is there on every connection, for up to `limit`, until
  // `done()` holds.
  template <typename Done>
  bool pump(Done done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::vector<pollfd> p(fds.size());
    for (;;) {
      if (done()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      for (size_t i = 0; i < fds.size(); ++i)
        p[i] = pollfd{eof[i] ? -1 : fds[i], POLLIN, 0};
      ::poll(p.data(), p.size(), 50);
      char buf[4096];
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(fds[i], buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
          received[i].append(buf, static_cast<size_t>(n));
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
          eof[i] = true;
      }
    }
  }

  size_t answered() const {
    size_t n = 0;
    for (const std::string& r : received)
      n += r.rfind("HTTP/1.1 200", 0) == 0 ? 1 : 0;
    return n;
  }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A number from /proc/<pid>/status ("VmRSS" is in kB), or -1.
long procStatus(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Opens `n` connections, each sending GET `target` and keeping the
// connection alive (HTTP/1.1 without Connection: close).
void openIdlers(int port, size_t n, const std::string& target, Idlers* out) {
  for (size_t i = 0; i < n; ++i) {
    int fd = connectLoopback(port);
    ASSERT_GE(fd, 0) << i;
    out->fds.push_back(fd);
    out->received.emplace_back();
    out->eof.push_back(false);
    ASSERT_TRUE(sendGet(fd, target)) << i;
  }
}

TEST(KeepAlive, ThousandIdleKeptAliveConnectionsDoNotStarveSend) {
  constexpr size_t kIdle = 1000;
  ServerProcess server({"--backend", "memory"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  Idlers idle;
  openIdlers(port, kIdle, "/healthz", &idle);
  // The attack is in place once the pool's 32 threads have each answered
  // one connection that now idles, kept alive.
  ASSERT_TRUE(idle.pump([&] { return idle.answered() >= 32; }, 30s))
      << idle.answered() << " answered";

  // A publisher on another connection is answered. 5 s is generous: the
  // request needs a pool thread for a millisecond; without the fix it
  // waits for 1,000 / 32 idle connections x 15 s of keep-alive each.
  auto start = std::chrono::steady_clock::now();
  HttpResponse sent =
      httpRequest(port, "POST", "/send", "channel=ka&data=hello",
                  "application/x-www-form-urlencoded", {}, 5s);
  EXPECT_EQ(sent.status, 201) << "no answer after "
                              << std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count()
                              << " ms";

  // Nothing queued was dropped: every idle connection got its answer.
  EXPECT_TRUE(idle.pump([&] { return idle.answered() == kIdle; }, 30s))
      << idle.answered() << " of " << kIdle << " answered";
  // Bounds, generous: the process holds 1,000 idle sockets, not 1,000
  // threads. Measured: 14 MB of RSS and 40 threads (release build). The
  // pool has at most 2 x 32 + 2 threads; the hub, the watchdog and POCO's
  // acceptors are a dozen more. A sanitized build's RSS is mostly shadow
  // memory, hence its own bound.
  EXPECT_LE(procStatus(server.pid(), "Threads"), 2 * 32 + 2 + 16);
  EXPECT_LE(procStatus(server.pid(), "VmRSS"), kSanitized ? 512 * 1024 : 64 * 1024)
      << "kB";
  // At most half of the 32 threads hold idle connections; the others were
  // told Connection: close, or closed while idle when the pool was full.
  EXPECT_LE(metric(port, "rtdemo_pool_idle_connections{pool=\"server\"}"), 16);
  EXPECT_GE(metric(port, "rtdemo_keepalive_declined_total{reason=\"pool_busy\"}") +
                metric(port, "rtdemo_idle_connections_closed_total{pool=\"server\"}"),
            static_cast<long long>(kIdle) - 16);
}

TEST(KeepAlive, IdleConnectionsHoldAtMostTheirShareOfThePool) {
  // Eight threads, half of them for idle connections: with four idle, an
  // answer and a /metrics request at a time leave the pool short of busy.
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.http.threads=8", "-D",
                        "rtdemo.limits.keep-alive.idle-percent=50"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  const std::string idleNow = "rtdemo_pool_idle_connections{pool=\"server\"}";
  Idlers idle;
  openIdlers(port, 4, "/healthz", &idle);
  ASSERT_TRUE(waitUntil([&] { return metric(port, idleNow) == 4; }));
  // Four of the eight threads idle: the next answer closes its connection.
  int fifth = connectLoopback(port);
  ASSERT_GE(fifth, 0);
  ASSERT_TRUE(sendGet(fifth, "/healthz"));
  std::string pending;
  HttpResponse r = readResponseOn(fifth, &pending, 10s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(lower(r.header("connection")), "close");
  bool closed = false;
  readResponseOn(fifth, &pending, 10s, &closed);
  EXPECT_TRUE(closed);
  ::close(fifth);
  EXPECT_EQ(metric(port, "rtdemo_keepalive_declined_total{reason=\"pool_busy\"}"), 1);
  EXPECT_EQ(metric(port, idleNow), 4);
  EXPECT_TRUE(idle.pump([&] { return idle.answered() == 4; }, 10s));
  for (size_t i = 0; i < 4; ++i) EXPECT_FALSE(idle.eof[i]) << i;
}

TEST(KeepAlive, IdleConnectionsAreClosedWhenEveryThreadIsHeld) {
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.http.threads=4"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  Idlers idle;
  openIdlers(port, 2, "/healthz", &idle);
  ASSERT_TRUE(waitUntil(
      [&] { return metric(port, "rtdemo_pool_idle_connections{pool=\"server\"}") == 2; }));
  ASSERT_TRUE(idle.pump([&] { return idle.answered() == 2; }, 10s));
  // Two publishes whose bodies never end hold the other two threads (for
  // the handshake deadline, 10 s): every thread is held.
  RawConnection slow1(port), slow2(port);
  const std::string slowPost =
      "POST /send HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nchannel=c";
  ASSERT_TRUE(slow1.send(slowPost));
  ASSERT_TRUE(slow2.send(slowPost));
  // The idle connections are closed, at once (well before the 15 s of
  // keep-alive or the 10 s the slow bodies have), and a new request is
  // answered meanwhile.
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.pump([&] { return idle.eof[0] && idle.eof[1]; }, 5s));
  HttpResponse health = httpGet(port, "/healthz", {}, 5s);
  EXPECT_EQ(health.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(metric(port, "rtdemo_idle_connections_closed_total{pool=\"server\"}"), 2);
  // The slow publishes were not answered (their bodies are still due).
  EXPECT_EQ(slow1.received(), "");
}

TEST(KeepAlive, AQuietServerKeepsConnectionsAlive) {
  ServerProcess server({"--backend", "memory"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  int fd = connectLoopback(port);
  ASSERT_GE(fd, 0);
  std::string pending;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(sendGet(fd, "/healthz"));
    HttpResponse r = readResponseOn(fd, &pending, 10s);
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_NE(lower(r.header("connection")), "close") << i;
  }
  ::close(fd);
  EXPECT_EQ(metric(port, "rtdemo_idle_connections_closed_total{pool=\"server\"}"), 0);
  EXPECT_EQ(metric(port, "rtdemo_keepalive_declined_total{reason=\"pool_busy\"}"), 0);
}

TEST(KeepAlive, KeptAliveConnectionsCountInThePerAddressLimit) {
  constexpr size_t kLimit = 4;
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.limits.exempt=", "-D",
                        "rtdemo.limits.streams.per-ip=" + std::to_string(kLimit)});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  Idlers idle;
  openIdlers(port, kLimit, "/healthz", &idle);
  ASSERT_TRUE(idle.pump([&] { return idle.answered() == kLimit; }, 10s));
  for (size_t i = 0; i < kLimit; ++i) EXPECT_FALSE(idle.eof[i]) << i;

  // The address holds its limit of connections: a stream is refused, and
  // a short request is answered but not kept alive.
  SseClient stream(port, "/events?channel=ka");
  EXPECT_EQ(stream.status(), 429);
  int extra = connectLoopback(port);
  ASSERT_GE(extra, 0);
  ASSERT_TRUE(sendGet(extra, "/healthz"));
  std::string pending;
  bool closed = false;
  HttpResponse r = readResponseOn(extra, &pending, 10s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(lower(r.header("connection")), "close");
  readResponseOn(extra, &pending, 10s, &closed);
  EXPECT_TRUE(closed);
  ::close(extra);
  EXPECT_EQ(metric(port, "rtdemo_keepalive_declined_total{reason=\"per_ip\"}"), 2);

  // Closing one kept-alive connection frees its place.
  ::close(idle.fds[0]);
  idle.fds[0] = -1;
  idle.eof[0] = true;
  EXPECT_TRUE(waitUntil([&] {
    SseClient again(port, "/events?channel=ka");
    return again.status() == 200;
  }));
}

}  // namespace
}  // namespace rtdemo
