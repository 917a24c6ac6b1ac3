// Streams and held polls must not pin the HTTP pool, and a slow subscriber
// must not hold the others back. Each test runs twice: with fan-out sends
// batched through io_uring ("on", which refuses to start without it) and
// with one send() per socket ("off"), since a kernel or seccomp filter that
// forbids io_uring puts rtdemo on the second path.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// A raw subscriber: one request sent, everything received kept as text.
struct RawClient {
  int fd = -1;
  std::string received;
  bool eof = false;
};

// Reads whatever is available on every client until `done` holds for all.
template <typename Done>
bool pumpUntil(std::vector<RawClient>& clients, Done done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<pollfd> fds(clients.size());
  for (;;) {
    bool all = true;
    for (auto& c : clients) all = all && done(c);
    if (all) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    for (size_t i = 0; i < clients.size(); ++i)
      fds[i] = pollfd{clients[i].eof ? -1 : clients[i].fd, POLLIN, 0};
    ::poll(fds.data(), fds.size(), 100);
    char buf[16384];
    for (size_t i = 0; i < clients.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::recv(clients[i].fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0)
        clients[i].received.append(buf, static_cast<size_t>(n));
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        clients[i].eof = true;
    }
  }
}

class Capacity : public ::testing::TestWithParam<const char*> {
 protected:
  std::string ioUring() const { return std::string("rtdemo.hub.io-uring=") + GetParam(); }
};

TEST_P(Capacity, ThousandStreamsAndThousandHeldPollsDoNotStarveSend) {
  constexpr int kEach = 1000;
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.poll.timeout.seconds=60",
                        "-D", "rtdemo.heartbeat.seconds=60", "-D", ioUring()});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  std::vector<RawClient> streams(kEach), polls(kEach);
  for (auto& c : streams) {
    c.fd = connectLoopback(port);
    ASSERT_GE(c.fd, 0);
    ASSERT_TRUE(sendGet(c.fd, "/events?channel=cap"));
  }
  for (auto& c : polls) {
    c.fd = connectLoopback(port);
    ASSERT_GE(c.fd, 0);
    ASSERT_TRUE(sendGet(c.fd, "/poll?channel=cap"));
  }
  // Every stream has its headers and preamble: all of them were handed to
  // the hub, since the pool has only 32 threads.
  ASSERT_TRUE(pumpUntil(streams, [](const RawClient& c) { return c.received.find("retry:") != std::string::npos; }, 30s));
  // Parked polls have no answer yet. A poll without a cursor waits for the
  // message after the channel's last id when its request is read; one still
  // queued for the request pool when the message goes out would rightly wait
  // for the next one. So wait until the hub holds every stream and every
  // poll: an accepted socket is not yet a registered subscriber.
  ASSERT_TRUE(waitUntil([&] { return openConnections(port, "sse") == kEach; }, 30s))
      << openConnections(port, "sse") << " streams held";
  ASSERT_TRUE(waitUntil([&] { return openConnections(port, "poll") == kEach; }, 30s))
      << openConnections(port, "poll") << " polls held";

  auto start = std::chrono::steady_clock::now();
  HttpResponse sent = httpRequest(port, "POST", "/send", "channel=cap&data=through", "application/x-www-form-urlencoded",
                                  {}, 1s);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(sent.status, 201) << "no answer within a second";
  EXPECT_LT(took, 1s);
  std::string id = jsonField(sent.body, "id");

  EXPECT_TRUE(pumpUntil(streams, [&](const RawClient& c) { return c.received.find("id: " + id + "\ndata: through\n\n") != std::string::npos; }, 30s));
  // Each held poll is answered (its connection stays open: keep-alive).
  auto answered = [](const RawClient& c) { return c.received.find("\"data\":\"through\"") != std::string::npos; };
  if (!pumpUntil(polls, answered, 30s)) {
    int missing = 0;
    std::string example;
    for (const auto& c : polls) {
      if (answered(c)) continue;
      if (++missing == 1) example = c.received;
    }
    ADD_FAILURE() << missing << " of " << kEach << " held polls have no answer with the message; one got: ["
                  << example << "]";
  }
  for (auto& c : streams) ::close(c.fd);
  for (auto& c : polls) ::close(c.fd);
}

TEST_P(Capacity, SlowSubscriberIsCutOffAndResumesFromHistory) {
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.stream.buffer.bytes=1048576",
                        "-D", "rtdemo.history.size=1000", "-D", ioUring()});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  // The slow one asks for a tiny receive window and then never reads.
  int slow = connectLoopback(port, 4096);
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(sendGet(slow, "/events?channel=slow"));
  SseClient healthy(port, "/events?channel=slow");
  ASSERT_EQ(healthy.status(), 200);
  ASSERT_TRUE(waitUntil([&] { return server.openSockets() > 0 && httpGet(port, "/healthz").status == 200; }));

  // 18 MB in all: far past the 1 MiB limit plus what the kernel buffers for
  // a client that advertises a 4 KiB window.
  constexpr size_t kCount = 600;
  const std::string payload(30000, 'p');
  std::vector<std::string> ids;
  // The healthy subscriber reads as the messages come, as a browser does,
  // and the publisher never runs more than a few messages ahead of it: on a
  // busy machine a test reader could otherwise fall 1 MiB behind and be cut
  // off for real.
  std::vector<SseEvent> got;
  std::atomic<size_t> received{0};
  std::thread reader([&] {
    while (got.size() < kCount) {
      auto one = healthy.messages(1, 30s);
      if (one.empty()) return;
      got.push_back(one[0]);
      received = got.size();
    }
  });
  for (size_t i = 0; i < kCount; ++i) {
    if (!waitUntil([&] { return received + 8 >= i; }, 30s)) {
      ADD_FAILURE() << "the healthy subscriber stopped at " << received;
      break;
    }
    ids.push_back(publish(port, "slow", payload + std::to_string(i)));
  }
  reader.join();
  ASSERT_EQ(got.size(), size_t(kCount)) << "the healthy subscriber must get everything";
  EXPECT_EQ(got.back().id, ids.back());

  // Drain the slow one: it was cut off, so its stream ends early.
  std::vector<RawClient> slowOnly(1);
  slowOnly[0].fd = slow;
  ASSERT_TRUE(pumpUntil(slowOnly, [](const RawClient& c) { return c.eof; }, 30s));
  std::string& raw = slowOnly[0].received;
  auto events = parseSse(raw.substr(raw.find("\r\n\r\n") + 4));
  ASSERT_LT(events.size(), size_t(kCount));
  // What it did get before the cut-off is intact and in order: a send the
  // socket took only part of was finished before anything else followed.
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].id, ids[i]) << "event " << i;
    ASSERT_EQ(events[i].data, payload + std::to_string(i)) << "event " << i;
  }
  std::string lastSeen = events.empty() ? ids[0].substr(0, ids[0].find('-')) + "-0" : events.back().id;
  ::close(slow);

  // It resumes from history with nothing lost.
  SseClient resumed(port, "/events?channel=slow", lastSeen);
  auto rest = resumed.messages(kCount - events.size(), 30s);
  ASSERT_EQ(rest.size(), kCount - events.size());
  EXPECT_EQ(rest.back().id, ids.back());
}

TEST_P(Capacity, SubscriberThatPausesGetsEveryEventIntact) {
  // A buffer limit it never reaches: this one is slow for a while, not gone.
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.stream.buffer.bytes=16777216",
                        "-D", "rtdemo.heartbeat.seconds=60", "-D", ioUring()});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  std::vector<RawClient> paused(1);
  paused[0].fd = connectLoopback(port, 4096);
  ASSERT_GE(paused[0].fd, 0);
  ASSERT_TRUE(sendGet(paused[0].fd, "/events?channel=pause"));
  ASSERT_TRUE(pumpUntil(paused, [](const RawClient& c) { return c.received.find("retry:") != std::string::npos; }, 30s));

  // 3 MB while it does not read: its socket fills, so the server's sends
  // to it are cut short, queued, and finished later, in both send paths.
  constexpr size_t kCount = 100;
  std::vector<std::string> ids, data;
  for (size_t i = 0; i < kCount; ++i) {
    data.push_back(std::string(30000, char('a' + i % 26)) + std::to_string(i));
    ids.push_back(publish(port, "pause", data.back()));
  }
  ASSERT_TRUE(pumpUntil(paused, [&](const RawClient& c) {
    return c.eof || c.received.find("id: " + ids.back() + "\n") != std::string::npos;
  }, 60s)) << "stopped after " << paused[0].received.size() << " bytes";
  ASSERT_TRUE(pumpUntil(paused, [&](const RawClient& c) {
    return c.eof || c.received.find(data.back() + "\n\n") != std::string::npos;
  }, 30s));
  const std::string& raw = paused[0].received;
  auto events = parseSse(raw.substr(raw.find("\r\n\r\n") + 4));
  ASSERT_EQ(events.size(), kCount) << "the stream was cut off or corrupted";
  for (size_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(events[i].id, ids[i]) << "event " << i;
    ASSERT_EQ(events[i].data, data[i]) << "event " << i;
  }
  ::close(paused[0].fd);
}

INSTANTIATE_TEST_SUITE_P(IoUring, Capacity, ::testing::Values("on", "off"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

}  // namespace
}  // namespace rtdemo
