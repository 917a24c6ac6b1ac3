// The Durable Streams transport (/v1/stream/{name}) on the real binary:
// what the conformance suite (tests/conformance/) does not look at. Readers
// that wait are held by the hub, not by a pool thread; a stream is a
// channel, so an append reaches /events; a close answers a waiting long
// poll at once; a closed stream refuses /send on every backend.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/socket_reader.h"
#include "tests/support/temp_dir.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

const char* kWaiting = "rtdemo_stream_readers_waiting";

std::string tailOf(int port, const std::string& path) {
  return httpRequest(port, "HEAD", path).header("stream-next-offset");
}

TEST(DurableStreams, WaitingReadersHoldNoPoolThread) {
  // Two pool threads, ten waiting readers: if a reader held a thread, the
  // append below could not be answered.
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.http.threads=2"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  ASSERT_EQ(httpRequest(port, "PUT", "/v1/stream/held", "", "text/plain").status, 201);
  std::string tail = tailOf(port, "/v1/stream/held");
  ASSERT_FALSE(tail.empty());
  std::vector<int> polls, sses;
  for (int i = 0; i < 6; i++) {
    polls.push_back(connectLoopback(port));
    ASSERT_TRUE(sendGet(polls.back(), "/v1/stream/held?live=long-poll&offset=" + tail));
  }
  for (int i = 0; i < 4; i++) {
    sses.push_back(connectLoopback(port));
    ASSERT_TRUE(sendGet(sses.back(), "/v1/stream/held?live=sse&offset=" + tail));
  }
  ASSERT_TRUE(waitUntil([&] { return metric(port, kWaiting) == 10; })) << metric(port, kWaiting);
  HttpResponse append = httpRequest(port, "POST", "/v1/stream/held", "news", "text/plain", {}, 5s);
  EXPECT_EQ(append.status, 204);
  for (int fd : polls) {
    std::string pending;
    HttpResponse r = readResponseOn(fd, &pending, 10s);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "news");
    EXPECT_EQ(r.header("stream-next-offset"), append.header("stream-next-offset"));
    ::close(fd);
  }
  for (int fd : sses) {
    SocketReader reader(fd);  // closes fd
    EXPECT_TRUE(reader.readUntil("data:news\n", 10s));
  }
  // The SSE readers wait again after the append.
  EXPECT_TRUE(waitUntil([&] { return metric(port, kWaiting) <= 4; }));
}

TEST(DurableStreams, AnAppendIsAChannelMessageOnEvents) {
  ServerProcess server({"--backend", "memory"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  ASSERT_EQ(httpRequest(port, "PUT", "/v1/stream/shared", "", "text/plain").status, 201);
  SseClient events(port, "/events?channel=shared");
  ASSERT_EQ(events.status(), 200);
  ASSERT_EQ(httpRequest(port, "POST", "/v1/stream/shared", "via the protocol", "text/plain").status,
            204);
  std::vector<SseEvent> got = events.messages(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "via the protocol");
}

TEST(DurableStreams, ClosingAnswersAWaitingLongPollAtOnce) {
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.poll.timeout.seconds=60"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  ASSERT_EQ(httpRequest(port, "PUT", "/v1/stream/ending", "", "text/plain").status, 201);
  std::string tail = tailOf(port, "/v1/stream/ending");
  int fd = connectLoopback(port);
  ASSERT_TRUE(sendGet(fd, "/v1/stream/ending?live=long-poll&offset=" + tail));
  ASSERT_TRUE(waitUntil([&] { return metric(port, kWaiting) == 1; }));
  ASSERT_EQ(httpRequest(port, "POST", "/v1/stream/ending", "", "text/plain",
                        {{"Stream-Closed", "true"}})
                .status,
            204);
  std::string pending;
  HttpResponse r = readResponseOn(fd, &pending, 10s);  // well before the 60 s
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("stream-closed"), "true");
  ::close(fd);
  EXPECT_EQ(metric(port, kWaiting), 0);
}

// A stream is a channel: once it is closed, rtdemo's own publish is
// refused like a protocol append (409 with a reason), stores nothing, and
// a plain channel next to it still takes /send.
class ClosedStreamSend : public ::testing::TestWithParam<std::string> {};

TEST_P(ClosedStreamSend, IsRefusedWith409AndStoresNothing) {
  TempDir dir;
  ServerProcess server({"--backend", GetParam(), "-D",
                        "rtdemo.sqlite.path=" + dir.file("history.db")});
  ASSERT_TRUE(server.ready()) << server.stderrText();
  const int port = server.port();
  ASSERT_EQ(httpRequest(port, "PUT", "/v1/stream/done", "first", "text/plain",
                        {{"Stream-Closed", "true"}})
                .status,
            201);
  std::string tail = tailOf(port, "/v1/stream/done");
  HttpResponse refused = httpRequest(port, "POST", "/send", "channel=done&data=late",
                                     "application/x-www-form-urlencoded");
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body.find("\"error\""), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("closed"), std::string::npos) << refused.body;
  EXPECT_EQ(tailOf(port, "/v1/stream/done"), tail);
  EXPECT_EQ(httpGet(port, "/v1/stream/done?offset=-1").body, "first");
  EXPECT_EQ(httpRequest(port, "POST", "/send", "channel=open&data=fine",
                        "application/x-www-form-urlencoded")
                .status,
            201);
}

INSTANTIATE_TEST_SUITE_P(Backends, ClosedStreamSend, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace rtdemo
