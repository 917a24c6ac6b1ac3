// Every limit of issue 9 against the real build/rtdemo: the status, the
// Retry-After where there is one, the counter in /metrics, and that nothing
// was published or stored. Loopback is exempt from per-address limits by
// default (the benchmark), so these servers clear rtdemo.limits.exempt.
#include <gtest/gtest.h>

#include <vector>

#include "tests/support/auth_support.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> limitArgs(std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "--backend", "memory",
      "-D",        "rtdemo.limits.exempt=",
      "-D",        "rtdemo.heartbeat.seconds=1",
      "-D",        "rtdemo.poll.timeout.seconds=5"};
  for (auto& e : extra) {
    args.push_back("-D");
    args.push_back(e);
  }
  return args;
}

long long refusals(int port, const std::string& reason,
                   const std::string& code) {
  return metric(port, "rtdemo_refusals_total{reason=\"" + reason +
                          "\",code=\"" + code + "\"}");
}

TEST(Limits, BodyTooLarge413) {
  ServerProcess server(limitArgs({"rtdemo.send.max-bytes=16"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  std::string cursor = cursorOf(port, "c");
  HttpResponse r = sendForm(port, "c", std::string(17, 'x'));
  EXPECT_EQ(r.status, 413);
  HttpResponse big = sendForm(port, "c", std::string(100000, 'x'));
  EXPECT_EQ(big.status, 413);
  expectNothingStored(port, "c", cursor);
  EXPECT_EQ(metric(port, "rtdemo_send_requests_total{code=\"413\"}"), 2);
  EXPECT_EQ(sendForm(port, "c", std::string(16, 'x')).status, 201);
}

TEST(Limits, RequestLineTooLong414) {
  ServerProcess server(limitArgs({"rtdemo.limits.request-line.bytes=200"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  std::string cursor = cursorOf(port, "c");
  std::string pad(300, 'a');
  HttpResponse r =
      httpRequest(port, "POST", "/send?pad=" + pad, "channel=c&data=x",
                  "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 414) << r.body;
  EXPECT_EQ(httpGet(port, "/events?channel=c&pad=" + pad).status, 414);
  expectNothingStored(port, "c", cursor);
  EXPECT_EQ(refusals(port, "request_line", "414"), 2);
}

TEST(Limits, HeadersTooLarge431) {
  ServerProcess server(limitArgs(
      {"rtdemo.limits.header.count=8", "rtdemo.limits.header.bytes=600"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  std::string cursor = cursorOf(port, "c");
  std::map<std::string, std::string> many;
  for (int i = 0; i < 10; ++i) many["X-Pad-" + std::to_string(i)] = "1";
  EXPECT_EQ(sendForm(port, "c", "x", many).status, 431);
  EXPECT_EQ(sendForm(port, "c", "x", {{"X-Big", std::string(700, 'b')}}).status,
            431);
  expectNothingStored(port, "c", cursor);
  EXPECT_EQ(refusals(port, "headers", "431"), 2);
  EXPECT_EQ(sendForm(port, "c", "x", {{"X-Small", "1"}}).status, 201);
}

TEST(Limits, ChannelNameLengthAndCharacters400) {
  ServerProcess server(limitArgs({"rtdemo.limits.channel.max-length=8"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  std::string cursor = cursorOf(port, "abcdefgh");
  EXPECT_EQ(sendForm(port, "abcdefghi", "x").status, 400);
  EXPECT_EQ(sendForm(port, "bad\nname", "x").status, 400);
  EXPECT_EQ(sendForm(port, "sp ace", "x").status, 400);
  EXPECT_EQ(httpGet(port, "/events?channel=abcdefghi").status, 400);
  EXPECT_EQ(httpGet(port, "/poll?channel=abcdefghi&timeout=0").status, 400);
  expectNothingStored(port, "abcdefgh", cursor);
  EXPECT_EQ(httpGet(port, "/poll?timeout=0&channel=abcdefghi&since=x").status,
            400);
  EXPECT_EQ(refusals(port, "channel", "400"), 4);
  EXPECT_EQ(sendForm(port, "abcdefgh", "x").status, 201);
}

TEST(Limits, StreamsPerAddressLimitPlusOne) {
  constexpr int kLimit = 5;
  ServerProcess server(
      limitArgs({"rtdemo.limits.streams.per-ip=" + std::to_string(kLimit),
                 "rtdemo.limits.retry-after.seconds=7"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  std::vector<std::unique_ptr<SseClient>> streams;
  for (int i = 0; i < kLimit; ++i) {
    streams.push_back(
        std::make_unique<SseClient>(port, "/events?channel=room"));
    ASSERT_EQ(streams.back()->status(), 200) << i;
  }
  // One more, on either transport, is refused with Retry-After.
  SseClient extra(port, "/events?channel=room");
  EXPECT_EQ(extra.status(), 429);
  EXPECT_EQ(extra.header("retry-after"), "7");
  HttpResponse poll = httpGet(port, "/poll?channel=room");
  EXPECT_EQ(poll.status, 429);
  EXPECT_EQ(refusals(port, "streams_per_ip", "429"), 2);

  // The others keep working.
  std::string id = publish(port, "room", "still here");
  for (auto& s : streams) {
    auto got = s->messages(1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, id);
  }
  // Publishing and short requests are not streams.
  EXPECT_EQ(httpGet(port, "/poll?channel=room&timeout=0").status, 200);

  // Closing one frees its place once the server has seen it go.
  streams[0]->close();
  EXPECT_TRUE(waitUntil([&] {
    SseClient again(port, "/events?channel=room");
    return again.status() == 200;
  }));
}

TEST(Limits, StreamsTotal503) {
  ServerProcess server(limitArgs(
      {"rtdemo.limits.streams.total=3", "rtdemo.limits.streams.per-ip=0"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  SseClient a(port, "/events?channel=x"), b(port, "/events?channel=y"),
      c(port, "/events?channel=z");
  ASSERT_EQ(c.status(), 200);
  SseClient d(port, "/events?channel=x");
  EXPECT_EQ(d.status(), 503);
  EXPECT_NE(d.header("retry-after"), "");
  EXPECT_EQ(refusals(port, "streams_total", "503"), 1);
  EXPECT_NE(publish(port, "x", "ok"), "");
  EXPECT_EQ(a.messages(1).size(), 1u);
}

TEST(Limits, LoopbackIsExemptFromPerAddressLimitsByDefault) {
  ServerProcess server(
      {"--backend", "memory", "-D", "rtdemo.limits.streams.per-ip=2", "-D",
       "rtdemo.limits.send.rate=1", "-D", "rtdemo.limits.send.burst=1"});
  ASSERT_TRUE(server.ready());
  int port = server.port();
  SseClient a(port, "/events?channel=x"), b(port, "/events?channel=x"),
      c(port, "/events?channel=x");
  EXPECT_EQ(c.status(), 200);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(sendForm(port, "x", "m").status, 201);
}

TEST(Limits, SendRatePerAddress429) {
  ServerProcess server(
      limitArgs({"rtdemo.limits.send.rate=0.5", "rtdemo.limits.send.burst=3"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(sendForm(port, "c", "ok").status, 201) << i;
  std::string cursor = cursorOf(port, "c");
  HttpResponse r = sendForm(port, "c", "one too many");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "2");
  expectNothingStored(port, "c", cursor);
  EXPECT_EQ(refusals(port, "send_rate", "429"), 1);
  // Subscribing is not publishing.
  EXPECT_EQ(httpGet(port, "/poll?channel=c&timeout=0").status, 200);
}

TEST(Limits, SlowAndIdleHandshakesAreCutOff) {
  ServerProcess server(limitArgs(
      {"rtdemo.limits.handshake.seconds=1", "rtdemo.http.threads=2"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  std::string cursor = cursorOf(port, "c");
  auto start = std::chrono::steady_clock::now();
  RawConnection idle(port);      // sends nothing at all
  RawConnection slowHead(port);  // a head that never ends
  slowHead.send("GET /events?channel=c HTTP/1.1\r\nHost: x\r\n");
  RawConnection slowBody(port);  // a publish whose body never ends
  slowBody.send(
      "POST /send HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\n"
      "Content-Length: 100\r\n\r\nchannel=c&data=");
  // Two pool threads, three stalled clients: the server still answers
  // once the stalled ones are cut.
  EXPECT_TRUE(idle.waitForClose(6s));
  EXPECT_TRUE(slowHead.waitForClose(6s));
  EXPECT_TRUE(slowBody.waitForClose(6s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
  EXPECT_EQ(slowBody.received().find("201"), std::string::npos);
  expectNothingStored(port, "c", cursor);
  EXPECT_GE(metric(port, "rtdemo_slow_handshakes_total"), 3);
  // A stream, once open, is not a handshake: it outlives the deadline.
  SseClient stream(port, "/events?channel=c");
  ASSERT_EQ(stream.status(), 200);
  auto beats = 0;
  while (beats < 3) {
    auto e = stream.next(5s);
    ASSERT_TRUE(e.has_value());
    beats++;
  }
  EXPECT_FALSE(stream.closed());
}

TEST(Limits, DripFedHeadOnAHandedBackConnectionIsCutOff) {
  ServerProcess server(limitArgs({"rtdemo.limits.handshake.seconds=1"}));
  ASSERT_TRUE(server.ready());
  int port = server.port();
  std::string cursor = cursorOf(port, "c");
  RawConnection conn(port);
  // A long poll that the hub answers at its timeout and keeps alive.
  ASSERT_TRUE(conn.send(getRequest(
      port, "/poll?channel=c&timeout=1&since=" + urlEncode(cursor))));
  ASSERT_TRUE(conn.readUntil("\"last_id\""));
  ASSERT_TRUE(conn.readUntil("}"));
  ASSERT_EQ(conn.status(), 200);
  const size_t answered = conn.received().size();
  const long long cutBefore = metric(port, "rtdemo_slow_handshakes_total");
  // The next request arrives a byte at a time: the hub hands the
  // connection back to the HTTP server at the first byte, which must then
  // have the head within the handshake deadline, not 15 s per byte.
  const std::string next = getRequest(port, "/healthz");
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (char byte : next) {
    if (!conn.send(std::string(1, byte))) break;
    if ((closed = conn.waitForClose(300ms))) break;
  }
  if (!closed) closed = conn.waitForClose(1s);
  EXPECT_TRUE(closed) << "the whole head was drip-fed over "
                      << next.size() * 300 << " ms";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(conn.received().find("HTTP/1.1", answered), std::string::npos)
      << conn.received().substr(answered);
  EXPECT_GT(metric(port, "rtdemo_slow_handshakes_total"), cutBefore);
}

}  // namespace
}  // namespace rtdemo
