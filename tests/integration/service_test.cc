// The service end to end: the real build/rtdemo on the memory backend, over
// loopback, as a browser or a publisher would use it.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// Short heartbeat and poll timeout so tests observe them quickly.
std::vector<std::string> testArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--backend", "memory",
                                   "-D", "rtdemo.heartbeat.seconds=1",
                                   "-D", "rtdemo.poll.timeout.seconds=3",
                                   "-D", "rtdemo.retry.ms=500"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(testArgs());
    ASSERT_TRUE(server_->ready());
    port_ = server_->port();
  }
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(ServiceTest, SendReachesSseSubscriber) {
  SseClient sse(port_, "/events?channel=room");
  ASSERT_EQ(sse.status(), 200);
  EXPECT_EQ(sse.header("content-type").rfind("text/event-stream", 0), 0u);
  EXPECT_EQ(sse.header("cache-control"), "no-cache");
  EXPECT_EQ(sse.header("x-accel-buffering"), "no");
  EXPECT_EQ(sse.header("content-encoding"), "");
  std::string id = publish(port_, "room", "line one\nline two", "chat");
  auto got = sse.messages(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].type, "chat");
  EXPECT_EQ(got[0].data, "line one\nline two");
  // rtdemo.retry.ms=500 and the default rtdemo.retry.jitter.ms (2000): each
  // stream is told its own delay in [500, 2500] (sse_retry_test.cc).
  EXPECT_GE(sse.retryMs(), 500);
  EXPECT_LE(sse.retryMs(), 2500);
}

TEST_F(ServiceTest, SseWithoutCursorGetsOnlyLiveMessages) {
  publish(port_, "c", "before");
  SseClient sse(port_, "/events?channel=c");
  std::string id = publish(port_, "c", "after");
  auto got = sse.messages(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "after");
  EXPECT_EQ(got[0].id, id);
}

TEST_F(ServiceTest, SendReachesHeldLongPoll) {
  HttpResponse first = httpGet(port_, "/poll?channel=p&timeout=0");
  ASSERT_EQ(first.status, 200);
  std::string cursor = jsonField(first.body, "last_id");
  ASSERT_FALSE(cursor.empty());
  auto held = std::async(std::launch::async, [&] {
    return httpGet(port_, "/poll?channel=p&since=" + urlEncode(cursor));
  });
  // Publishing before the poll is parked would be answered at once and
  // prove nothing.
  ASSERT_TRUE(waitUntil([&] { return openConnections(port_, "poll") == 1; }));
  std::string id = publish(port_, "p", "hello poll", "note");
  HttpResponse r = held.get();
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"id\":\"" + id + "\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"data\":\"hello poll\""), std::string::npos);
  EXPECT_NE(r.body.find("\"event\":\"note\""), std::string::npos);
  EXPECT_EQ(jsonField(r.body, "last_id"), id);
}

TEST_F(ServiceTest, PollTimeoutAboveTheMaximumIsShortened) {
  // The test server's maximum is 3 s; asking for an hour still answers.
  std::string cursor = jsonField(httpGet(port_, "/poll?channel=t&timeout=0").body, "last_id");
  HttpResponse r = httpGet(port_, "/poll?channel=t&timeout=3600&since=" + urlEncode(cursor), {}, 10s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(jsonField(r.body, "last_id"), cursor);
}

TEST_F(ServiceTest, PollWithoutSinceWaitsForTheNextMessage) {
  publish(port_, "p", "old");
  auto held = std::async(std::launch::async, [&] { return httpGet(port_, "/poll?channel=p"); });
  ASSERT_TRUE(waitUntil([&] { return openConnections(port_, "poll") == 1; }));
  std::string id = publish(port_, "p", "new");
  HttpResponse r = held.get();
  EXPECT_EQ(r.body.find("\"old\""), std::string::npos) << r.body;
  EXPECT_EQ(jsonField(r.body, "last_id"), id);
}

TEST_F(ServiceTest, PollAnswersAtOnceWhenMessagesExistAndBatchesInOrder) {
  std::string a = publish(port_, "p", "a");
  std::string b = publish(port_, "p", "b");
  std::string c = publish(port_, "p", "c");
  HttpResponse r = httpGet(port_, "/poll?channel=p&since=" + urlEncode(a));
  ASSERT_EQ(r.status, 200);
  size_t pb = r.body.find(b), pc = r.body.find(c);
  ASSERT_NE(pb, std::string::npos);
  ASSERT_NE(pc, std::string::npos);
  EXPECT_LT(pb, pc);
  EXPECT_EQ(r.body.find("\"data\":\"a\""), std::string::npos);
  EXPECT_EQ(jsonField(r.body, "last_id"), c);
}

TEST_F(ServiceTest, LongPollTimeoutIsAnEmptyAnswer) {
  std::string id = publish(port_, "p", "x");
  auto start = std::chrono::steady_clock::now();
  HttpResponse r = httpGet(port_, "/poll?channel=p&timeout=1&since=" + urlEncode(id));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"messages\":[],\"last_id\":\"" + id + "\"}");
  EXPECT_GE(took, 900ms);
}

TEST_F(ServiceTest, ResumeByLastEventIdHeaderAndQuery) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(publish(port_, "r", "m" + std::to_string(i)));
  SseClient byHeader(port_, "/events?channel=r", ids[1]);
  auto h = byHeader.messages(3);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].id, ids[2]);
  EXPECT_EQ(h[2].id, ids[4]);
  SseClient byQuery(port_, "/events?channel=r&last_event_id=" + urlEncode(ids[3]));
  auto q = byQuery.messages(1);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].id, ids[4]);
  // The header wins over the query parameter.
  SseClient both(port_, "/events?channel=r&last_event_id=" + urlEncode(ids[0]), ids[3]);
  auto b = both.messages(1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id, ids[4]);
  // Replay then live, with no gap and no duplicate.
  std::string live = publish(port_, "r", "live");
  auto after = byHeader.messages(1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, live);
}

TEST_F(ServiceTest, NoGapOrDuplicateWhilePublishingDuringResume) {
  std::string first = publish(port_, "busy", "start");
  std::atomic<bool> stop{false};
  std::vector<std::string> sent;
  std::thread publisher([&] {
    for (int i = 0; i < 200 && !stop; ++i) sent.push_back(publish(port_, "busy", std::to_string(i)));
  });
  SseClient sse(port_, "/events?channel=busy", first);
  publisher.join();
  auto got = sse.messages(sent.size(), 20s);
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i].id, sent[i]) << i;
  // No duplicate after the last one either: the next message is one sent now.
  std::string last = publish(port_, "busy", "last");
  auto next = sse.messages(1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, last);
}

TEST_F(ServiceTest, HeartbeatsArrive) {
  SseClient sse(port_, "/events?channel=hb");
  int beats = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (beats < 2 && std::chrono::steady_clock::now() < deadline) {
    auto e = sse.next(3s);
    if (e && e->type == "heartbeat") {
      ++beats;
      EXPECT_GT(std::stoll(e->data), 1600000000000LL);
    }
  }
  EXPECT_EQ(beats, 2);
}

TEST_F(ServiceTest, TwoClientsOnOneChannelEachGetEveryMessage) {
  SseClient a(port_, "/events?channel=two");
  SseClient b(port_, "/events?channel=two");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(publish(port_, "two", std::to_string(i)));
  for (SseClient* c : {&a, &b}) {
    auto got = c->messages(20);
    ASSERT_EQ(got.size(), 20u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(got[i].id, ids[i]);
  }
}

TEST_F(ServiceTest, BadSendsAreRefusedAndStoreNothing) {
  struct Case {
    std::string body;
    std::string type;
    int status;
  };
  std::vector<Case> cases = {
      {"channel=x", "application/x-www-form-urlencoded", 400},
      {"data=%FF", "application/x-www-form-urlencoded", 400},
      {"data=x&channel=a%0Db", "application/x-www-form-urlencoded", 400},
      {"data=x&event=a%0Ab", "application/x-www-form-urlencoded", 400},
      {"data=x&channel=has%20space", "application/x-www-form-urlencoded", 400},
      {"{bad json", "application/json", 400},
      {"data=" + std::string(70000, 'a'), "application/x-www-form-urlencoded", 413},
      {"data=" + std::string(300000, 'a'), "application/x-www-form-urlencoded", 413},
  };
  for (const Case& c : cases) {
    HttpResponse r = httpRequest(port_, "POST", "/send", c.body, c.type);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 40);
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_FALSE(jsonField(r.body, "error").empty()) << r.body;
  }
  // Nothing reached the default channel's history.
  HttpResponse poll = httpGet(port_, "/poll?channel=demo&timeout=0&since=x-0");
  EXPECT_NE(poll.body.find("\"messages\":[]"), std::string::npos) << poll.body;
}

TEST_F(ServiceTest, BadSubscribeRequestsGet400BeforeTheStream) {
  EXPECT_EQ(httpGet(port_, "/events?channel=bad%0Achannel").status, 400);
  EXPECT_EQ(httpGet(port_, "/poll?channel=" + std::string(65, 'a')).status, 400);
  EXPECT_EQ(httpGet(port_, "/poll?timeout=abc").status, 400);
  EXPECT_EQ(httpGet(port_, "/poll?timeout=-1").status, 400);
  EXPECT_EQ(httpGet(port_, "/events", {{"Last-Event-ID", std::string(200, 'a')}}).status, 400);
}

TEST_F(ServiceTest, JsonSendWithAliases) {
  HttpResponse r = httpRequest(port_, "POST", "/send", R"({"channel":"j","message":"via json"})",
                               "application/json");
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(jsonField(r.body, "channel"), "j");
  HttpResponse poll = httpGet(port_, "/poll?channel=j&since=x-0&timeout=0");
  EXPECT_NE(poll.body.find("via json"), std::string::npos);
}

TEST_F(ServiceTest, StaticFilesAndRouting) {
  HttpResponse index = httpGet(port_, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<html"), std::string::npos);
  EXPECT_FALSE(index.header("last-modified").empty());
  HttpResponse js = httpGet(port_, "/static/sse.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  HttpResponse notModified = httpGet(port_, "/static/sse.js", {{"If-Modified-Since", js.header("last-modified")}});
  EXPECT_EQ(notModified.status, 304);
  for (const char* bad : {"/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
                          "/static/..%2f..%2fCMakeLists.txt", "/static/", "/static//etc/passwd",
                          "/../CMakeLists.txt", "/nope"}) {
    HttpResponse r = httpGet(port_, bad);
    EXPECT_EQ(r.status, 404) << bad;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << bad;
  }
  HttpResponse wrongMethod = httpGet(port_, "/send");
  EXPECT_EQ(wrongMethod.status, 405);
  EXPECT_EQ(wrongMethod.header("allow"), "POST");
  EXPECT_EQ(httpRequest(port_, "POST", "/events", "x", "text/plain").status, 405);
}

TEST_F(ServiceTest, HealthReportsBackend) {
  HttpResponse r = httpGet(port_, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(jsonField(r.body, "status"), "ok");
  EXPECT_EQ(jsonField(r.body, "backend"), "memory");
}

TEST_F(ServiceTest, DisconnectedPollAndStreamAreReleased) {
  // Only the listener once the fixture's readiness probe has been closed.
  ASSERT_TRUE(waitUntil([&] { return server_->openSockets() == 1; }));
  const int before = 1;
  {
    SseClient sse(port_, "/events?channel=gone");
    int poll = connectLoopback(port_);  // parked: no answer will come
    ASSERT_TRUE(sendGet(poll, "/poll?channel=gone"));
    ASSERT_EQ(sse.status(), 200);
    ASSERT_TRUE(waitUntil([&] { return server_->openSockets() >= before + 2; }));
    ::close(poll);
  }
  EXPECT_TRUE(waitUntil([&] { return server_->openSockets() <= before; }, 5s))
      << server_->openSockets() << " sockets, " << before << " before";
}

TEST(ServiceRestart, MemoryRestartGivesReset) {
  int port = 0;
  std::string oldId;
  {
    ServerProcess first(testArgs());
    ASSERT_TRUE(first.ready());
    port = first.port();
    oldId = publish(port, "r", "before restart");
    EXPECT_EQ(first.stop(SIGTERM), 0);
  }
  ServerProcess second(testArgs(), port);
  ASSERT_TRUE(second.ready());
  std::string fresh = publish(port, "r", "after restart");
  SseClient sse(port, "/events?channel=r", oldId);
  auto reset = sse.next();
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->type, "reset");
  EXPECT_EQ(jsonField(reset->data, "oldest"), fresh);
  auto rest = sse.messages(1);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, fresh);
  HttpResponse poll = httpGet(port, "/poll?channel=r&since=" + urlEncode(oldId));
  EXPECT_NE(poll.body.find("\"reset\":true"), std::string::npos) << poll.body;
  EXPECT_EQ(jsonField(poll.body, "oldest"), fresh);
  EXPECT_NE(poll.body.find("after restart"), std::string::npos);
}

TEST(ServiceShutdown, SigtermEndsStreamsAnswersPollsAndExitsZero) {
  ServerProcess server(testArgs());
  ASSERT_TRUE(server.ready());
  SseClient sse(server.port(), "/events?channel=s");
  ASSERT_EQ(sse.status(), 200);
  std::string cursor = jsonField(httpGet(server.port(), "/poll?channel=s&timeout=0").body, "last_id");
  auto held = std::async(std::launch::async, [&] {
    return httpGet(server.port(), "/poll?channel=s&since=" + urlEncode(cursor));
  });
  ASSERT_TRUE(waitUntil([&] { return openConnections(server.port(), "poll") == 1; }));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGTERM), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(sse.waitForClose(2s));
  HttpResponse answer = held.get();
  EXPECT_EQ(answer.status, 200);
  EXPECT_NE(answer.body.find("\"messages\":[]"), std::string::npos);
  EXPECT_NE(server.stderrText().find("rtdemo stopped"), std::string::npos);
}

TEST(ServiceConfig, BadConfigurationExitsWithOneLine) {
  struct Case {
    std::vector<std::string> args;
    std::string mention;
  };
  for (const Case& c : std::vector<Case>{
           {{"--backend", "mongo"}, "rtdemo.backend"},
           {{"--port", "notaport"}, "rtdemo.port"},
           {{"--port=70000"}, "rtdemo.port"},
           {{"-D", "rtdemo.heartbeat.seconds=-5"}, "rtdemo.heartbeat.seconds"},
           {{"-D", "rtdemo.poll.timeout.seconds=soon"}, "rtdemo.poll.timeout.seconds"},
           {{"--config", "/nonexistent/rtdemo.properties"}, "/nonexistent/rtdemo.properties"},
           {{"--backend", "memory", "--port", "0", "-D", "rtdemo.port-file=/nonexistent/port"},
            "cannot write rtdemo.port-file /nonexistent/port: No such file or directory"},
       }) {
    ServerProcess::Exit exit = ServerProcess::runToExit(c.args);
    EXPECT_NE(exit.code, 0) << c.mention;
    EXPECT_NE(exit.stderrText.find(c.mention), std::string::npos) << exit.stderrText;
    EXPECT_EQ(std::count(exit.stderrText.begin(), exit.stderrText.end(), '\n'), 1) << exit.stderrText;
  }
}

TEST(ServiceConfig, PortInUseExitsWithOneLine) {
  ServerProcess first(testArgs());
  ASSERT_TRUE(first.ready());
  ServerProcess::Exit exit =
      ServerProcess::runToExit({"--backend", "memory", "--port", std::to_string(first.port())});
  EXPECT_NE(exit.code, 0);
  EXPECT_NE(exit.stderrText.find("cannot listen"), std::string::npos) << exit.stderrText;
  // The running server is unaffected.
  EXPECT_EQ(httpGet(first.port(), "/healthz").status, 200);
}

TEST(ServicePortOption, BothSpellingsWork) {
  ServerProcess::Exit help = ServerProcess::runToExit({"--help"});
  EXPECT_EQ(help.code, 0);
  ServerProcess spaced({"--backend", "memory"});  // the fixture passes "--port N"
  ASSERT_TRUE(spaced.ready());
  EXPECT_EQ(httpGet(spaced.port(), "/healthz").status, 200);
  // Port 0 in the joined spelling: the port file says where it went, and
  // it is not the configuration file's 5000.
  ServerProcess joined({"--backend", "memory", "--port=0"});
  ASSERT_TRUE(joined.ready());
  EXPECT_NE(joined.port(), 5000);
  EXPECT_EQ(httpGet(joined.port(), "/healthz").status, 200);
}

}  // namespace
}  // namespace rtdemo

namespace rtdemo {
namespace {

// Reads one HTTP response with a Content-Length body from a raw socket.
std::string readResponse(int fd, std::chrono::milliseconds limit = 10s) {
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    size_t head = buf.find("\r\n\r\n");
    if (head != std::string::npos) {
      size_t cl = buf.find("Content-Length: ");
      if (cl != std::string::npos && cl < head) {
        size_t len = std::stoul(buf.substr(cl + 16));
        if (buf.size() >= head + 4 + len) return buf.substr(0, head + 4 + len);
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
    char tmp[4096];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return buf;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

TEST_F(ServiceTest, HeldPollsKeepTheirConnectionAlive) {
  std::string cursor = jsonField(httpGet(port_, "/poll?channel=ka&timeout=0").body, "last_id");
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  for (int round = 0; round < 3; ++round) {
    // Each poll parks in the hub; the answer comes on the same connection,
    // which then carries the next request.
    ASSERT_TRUE(sendGet(fd, "/poll?channel=ka&since=" + urlEncode(cursor)));
    ASSERT_TRUE(waitUntil([&] { return server_->openSockets() >= 2; }));
    std::string id = publish(port_, "ka", "round " + std::to_string(round));
    std::string answer = readResponse(fd);
    ASSERT_FALSE(answer.empty()) << "round " << round;
    EXPECT_NE(answer.find("Connection: Keep-Alive"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\"data\":\"round " + std::to_string(round) + "\""), std::string::npos);
    cursor = id;
  }
  // Any other request on the same connection is served normally.
  const std::string body = "channel=ka&data=via";
  std::string post = "POST /send HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, post.data(), post.size(), MSG_NOSIGNAL), static_cast<ssize_t>(post.size()));
  std::string created = readResponse(fd);
  EXPECT_EQ(created.rfind("HTTP/1.1 201", 0), 0u) << created;
  ::close(fd);
}

TEST_F(ServiceTest, PollWithConnectionCloseIsClosedAfterTheAnswer) {
  std::string cursor = jsonField(httpGet(port_, "/poll?channel=kc&timeout=0").body, "last_id");
  auto held = std::async(std::launch::async, [&] {
    return httpGet(port_, "/poll?channel=kc&since=" + urlEncode(cursor));  // sends Connection: close
  });
  ASSERT_TRUE(waitUntil([&] { return openConnections(port_, "poll") == 1; }));
  publish(port_, "kc", "bye");
  HttpResponse r = held.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("connection"), "close");
}

}  // namespace
}  // namespace rtdemo
