// Authentication, private channels, CSRF, CORS, sessions and presence,
// against the real build/rtdemo (issue 9). Every refusal checks its status
// and that nothing was published or stored.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>

#include "tests/support/auth_support.h"
#include "tests/support/base64url.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> authArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--backend", "memory",
      "-D",        "rtdemo.auth.publish=jwt",
      "-D",        "rtdemo.auth.jwt.secret=" + kTestSecret,
      "-D",        "rtdemo.auth.private-prefix=private:",
      "-D",        "rtdemo.presence=on",
      "-D",        "rtdemo.heartbeat.seconds=1",
      "-D",        "rtdemo.poll.timeout.seconds=3"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(authArgs());
    ASSERT_TRUE(server_->ready());
    port_ = server_->port();
  }
  long long refusals(const std::string& reason, const std::string& code) {
    return metric(port_, "rtdemo_refusals_total{reason=\"" + reason +
                             "\",code=\"" + code + "\"}");
  }
  // Publishing with `headers` is refused with `status`, and stores nothing.
  void expectPublishRefused(const std::map<std::string, std::string>& headers,
                            int status, const std::string& channel = "news") {
    std::string cursor = cursorOf(port_, channel);
    HttpResponse r = sendForm(port_, channel, "should not be stored", headers);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_NE(jsonField(r.body, "error"), "") << r.body;
    if (status == 401) {
      EXPECT_NE(r.header("www-authenticate").find("Bearer"), std::string::npos);
    }
    expectNothingStored(port_, channel, cursor);
  }
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(AuthTest, PublishNeedsAToken) {
  expectPublishRefused({}, 401);
  expectPublishRefused({{"Authorization", "Basic dXNlcjpwYXNz"}}, 401);
  expectPublishRefused(bearer(""), 401);
  expectPublishRefused(bearer("not-a-jwt"), 401);
  expectPublishRefused(bearer("a.b.c"), 401);
  EXPECT_EQ(refusals("unauthorized", "401"), 5);
}

TEST_F(AuthTest, ValidTokenPublishesToTheChannelsItCovers) {
  std::string token = makeToken("--publish 'news,team-7:*' --ttl 600");
  HttpResponse r = sendForm(port_, "news", "hello", bearer(token));
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.header("x-session-id"), "");
  EXPECT_EQ(sendForm(port_, "team-7:chat", "hi", bearer(token)).status, 201);
  expectPublishRefused(bearer(token), 403, "sports");
  expectPublishRefused(bearer(token), 403, "team-70:chat");
  EXPECT_EQ(refusals("forbidden", "403"), 2);
}

TEST_F(AuthTest, BadSignatureIsRefused) {
  expectPublishRefused(
      bearer(
          makeToken("--publish '*'", "some-other-secret-that-is-long-enough")),
      401);
  std::string token = makeToken("--publish news");
  std::string payload = b64url(R"({"publish":["*"]})");
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  expectPublishRefused(
      bearer(token.substr(0, d1 + 1) + payload + token.substr(d2)), 401,
      "sports");
}

TEST_F(AuthTest, AlgNoneAndOtherAlgorithmsAreRefused) {
  std::string payload = b64url(R"({"publish":["*"]})");
  expectPublishRefused(
      bearer(b64url(R"({"alg":"none","typ":"JWT"})") + "." + payload + "."),
      401);
  expectPublishRefused(
      bearer(b64url(R"({"alg":"none"})") + "." + payload + ".e30"), 401);
  // The right key, the wrong algorithm.
  expectPublishRefused(bearer(makeToken("--publish '*' --algorithm HS512")),
                       401);
  expectPublishRefused(bearer(makeToken("--publish '*' --algorithm HS384")),
                       401);
}

TEST_F(AuthTest, ExpiredAndNotYetValidTokensAreRefused) {
  // Beyond the default 30 s leeway either way.
  expectPublishRefused(bearer(makeToken("--publish '*' --ttl -120")), 401);
  expectPublishRefused(bearer(makeToken("--publish '*' --not-before 3600")),
                       401);
  EXPECT_EQ(
      sendForm(port_, "news", "ok", bearer(makeToken("--publish '*' --ttl 60")))
          .status,
      201);
}

TEST_F(AuthTest, CookieTokenNeedsTheSameOrigin) {
  std::string cookie = "rtdemo_token=" + makeToken("--publish '*'");
  std::string self = "http://127.0.0.1:" + std::to_string(port_);
  // No Origin and no Sec-Fetch-Site: cannot tell where it comes from.
  expectPublishRefused({{"Cookie", cookie}}, 403);
  expectPublishRefused({{"Cookie", cookie}, {"Origin", "https://evil.example"}},
                       403);
  expectPublishRefused({{"Cookie", cookie}, {"Sec-Fetch-Site", "cross-site"}},
                       403);
  expectPublishRefused({{"Cookie", cookie}, {"Origin", "null"}}, 403);
  EXPECT_EQ(refusals("cross_site", "403"), 4);
  EXPECT_EQ(sendForm(port_, "news", "a", {{"Cookie", cookie}, {"Origin", self}})
                .status,
            201);
  EXPECT_EQ(sendForm(port_, "news", "b",
                     {{"Cookie", cookie}, {"Sec-Fetch-Site", "same-origin"}})
                .status,
            201);
}

TEST_F(AuthTest, PrivateChannelNeedsASubscribeToken) {
  std::string publisher = makeToken("--publish '*'");
  std::string reader = makeToken("--subscribe 'private:room-*'");
  std::string other = makeToken("--subscribe 'private:elsewhere'");
  std::string first = jsonField(
      sendForm(port_, "private:room-1", "secret 1", bearer(publisher)).body,
      "id");
  ASSERT_NE(first, "");

  // SSE: refused before the stream opens, history included.
  for (auto& [headers, status] : std::vector<std::pair<std::string, int>>{
           {"", 401},
           {"Authorization: Bearer " + other + "\r\n", 403},
           {"Cookie: rtdemo_token=garbage\r\n", 401}}) {
    RawConnection c(port_);
    c.send(getRequest(port_,
                      "/events?channel=private:room-1&last_event_id=" +
                          urlEncode(first.substr(0, first.find('-'))) + "-0",
                      headers));
    ASSERT_TRUE(c.readUntil("\r\n\r\n")) << headers;
    EXPECT_EQ(c.status(), status) << headers;
    c.readUntil("}", 2s);
    EXPECT_EQ(c.received().find("secret 1"), std::string::npos);
    EXPECT_EQ(c.received().find("text/event-stream"), std::string::npos);
  }
  // Poll: the same rules, including replayed history.
  HttpResponse poll =
      httpGet(port_, "/poll?timeout=0&channel=private:room-1&since=" +
                         urlEncode(first.substr(0, first.find('-'))) + "-0");
  EXPECT_EQ(poll.status, 401);
  EXPECT_EQ(poll.body.find("secret 1"), std::string::npos);

  // With the cookie (what EventSource sends), history and live both arrive.
  RawConnection sse(port_);
  sse.send(getRequest(port_,
                      "/events?channel=private:room-1&last_event_id=" +
                          urlEncode(first.substr(0, first.find('-'))) + "-0",
                      "Cookie: rtdemo_token=" + reader + "\r\n"));
  ASSERT_TRUE(sse.readUntil("secret 1"));
  EXPECT_EQ(sse.status(), 200);
  sendForm(port_, "private:room-1", "secret 2", bearer(publisher));
  EXPECT_TRUE(sse.readUntil("secret 2"));
  HttpResponse ok =
      httpGet(port_,
              "/poll?timeout=0&channel=private:room-1&since=" +
                  urlEncode(first.substr(0, first.find('-'))) + "-0",
              bearer(reader));
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("secret 2"), std::string::npos);
  // Public channels stay open to everyone.
  EXPECT_EQ(httpGet(port_, "/poll?timeout=0&channel=news").status, 200);
}

TEST_F(AuthTest, PresenceListsSessionsByTransportUnderTheSameRules) {
  std::string reader = makeToken("--subscribe 'private:*'");
  SseClient a(port_, "/events?channel=lobby");
  SseClient b(port_, "/events?channel=lobby");
  ASSERT_EQ(a.status(), 200);
  std::string session = a.header("x-session-id");
  ASSERT_NE(session, "");
  HttpResponse p = httpGet(port_, "/presence?channel=lobby");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_NE(p.body.find("\"count\":2"), std::string::npos) << p.body;
  EXPECT_NE(p.body.find(session), std::string::npos) << p.body;
  EXPECT_NE(p.body.find("\"poll\":[]"), std::string::npos) << p.body;
  a.close();
  EXPECT_TRUE(waitUntil([&] {
    return httpGet(port_, "/presence?channel=lobby").body.find("\"count\":1") !=
           std::string::npos;
  }));
  EXPECT_EQ(httpGet(port_, "/presence?channel=private:x").status, 401);
  EXPECT_EQ(httpGet(port_, "/presence?channel=private:x",
                    bearer(makeToken("--subscribe news")))
                .status,
            403);
  EXPECT_EQ(
      httpGet(port_, "/presence?channel=private:x", bearer(reader)).status,
      200);
}

TEST_F(AuthTest, SessionIdIsStableOnAConnectionAndNamedInTheLog) {
  // Two requests on one keep-alive connection: one session.
  RawConnection c(port_);
  std::string post =
      "POST /send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 16\r\n\r\n"
      "channel=news&x=1";
  ASSERT_TRUE(c.send(getRequest(port_, "/poll?channel=news&timeout=0")));
  ASSERT_TRUE(c.readUntil("\"last_id\""));
  ASSERT_TRUE(c.send(post));
  ASSERT_TRUE(c.readUntil("missing token"));
  const std::string& got = c.received();
  size_t first = got.find("X-Session-Id: ");
  size_t second = got.find("X-Session-Id: ", first + 1);
  ASSERT_NE(second, std::string::npos) << got;
  std::string id = got.substr(first + 14, got.find("\r\n", first) - first - 14);
  EXPECT_EQ(got.substr(second + 14, id.size()), id);
  // The refusal is logged with the session id and the client address.
  EXPECT_TRUE(waitUntil([&] {
    return server_->stderrText().find("session " + id) != std::string::npos;
  })) << server_->stderrText();
  EXPECT_GE(metric(port_, "rtdemo_sessions_total{transport=\"poll\"}"), 1);
}

TEST(AuthConfig, PresenceIsOffByDefault) {
  ServerProcess server({"--backend", "memory"});
  ASSERT_TRUE(server.ready());
  EXPECT_EQ(httpGet(server.port(), "/presence?channel=demo").status, 404);
  // And with auth off, publishing needs nothing (the demo configuration).
  EXPECT_EQ(sendForm(server.port(), "demo", "hi").status, 201);
}

TEST(AuthConfig, UnsafeConfigurationsDoNotStart) {
  auto e = ServerProcess::runToExit(
      {"--backend", "memory", "-D", "rtdemo.auth.publish=jwt"});
  EXPECT_NE(e.code, 0);
  EXPECT_NE(e.stderrText.find("rtdemo.auth.jwt.secret"), std::string::npos)
      << e.stderrText;
  e = ServerProcess::runToExit({"--backend", "memory", "-D",
                                "rtdemo.cors.origins=*", "-D",
                                "rtdemo.cors.credentials=on"});
  EXPECT_NE(e.code, 0);
  EXPECT_NE(e.stderrText.find("rtdemo.cors.origins"), std::string::npos)
      << e.stderrText;
}

TEST(AuthConfig, KeyFileWorksLikeTheSecret) {
  std::string path = ::testing::TempDir() + "rtdemo-jwt-key";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fprintf(f, "%s\n", kTestSecret.c_str());
  std::fclose(f);
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.auth.publish=jwt",
                        "-D", "rtdemo.auth.jwt.secret-file=" + path});
  ASSERT_TRUE(server.ready());
  EXPECT_EQ(
      sendForm(server.port(), "news", "x", bearer(makeToken("--publish news")))
          .status,
      201);
  EXPECT_EQ(
      sendForm(server.port(), "news", "x",
               bearer(makeToken("--publish news",
                                "wrong-secret-wrong-secret-wrong-secret")))
          .status,
      401);
}

TEST(Cors, PreflightAndHeadersForListedOriginsOnly) {
  ServerProcess server({"--backend", "memory", "-D",
                        "rtdemo.cors.origins=https://app.example", "-D",
                        "rtdemo.cors.credentials=on"});
  ASSERT_TRUE(server.ready());
  int port = server.port();
  HttpResponse ok = httpRequest(
      port, "OPTIONS", "/send", "", "",
      {{"Origin", "https://app.example"},
       {"Access-Control-Request-Method", "POST"},
       {"Access-Control-Request-Headers", "content-type, authorization"}});
  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(ok.header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(ok.header("access-control-allow-credentials"), "true");
  EXPECT_NE(ok.header("access-control-allow-headers").find("Authorization"),
            std::string::npos);
  HttpResponse bad = httpRequest(port, "OPTIONS", "/send", "", "",
                                 {{"Origin", "https://evil.example"},
                                  {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(bad.header("access-control-allow-origin"), "");
  EXPECT_EQ(
      metric(port, "rtdemo_refusals_total{reason=\"preflight\",code=\"403\"}"),
      1);
  HttpResponse sent =
      sendForm(port, "demo", "x", {{"Origin", "https://app.example"}});
  EXPECT_EQ(sent.status, 201);
  EXPECT_EQ(sent.header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(sendForm(port, "demo", "x", {{"Origin", "https://evil.example"}})
                .header("access-control-allow-origin"),
            "");
}

// --daemon moves to "/" before the settings are read: a key file named
// relative to the directory rtdemo was started in must still be found.
TEST(AuthDaemon, RelativeSecretFileIsReadFromTheStartDirectory) {
  const std::string tag = std::to_string(::getpid());
  const std::string dir = "rtdemo-secret-" + tag;  // relative to our cwd
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << std::strerror(errno);
  {
    std::ofstream key(dir + "/jwt.key");
    key << kTestSecret << "\n";
  }
  const std::string portFile = "/tmp/rtdemo-daemon-" + tag + ".port";
  const std::string pidFile = "/tmp/rtdemo-daemon-" + tag + ".pid";
  auto readNumber = [](const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    if (text.empty() || text.back() != '\n') return 0L;
    return std::strtol(text.c_str(), nullptr, 10);
  };
  struct Cleanup {
    std::string dir, portFile, pidFile;
    std::function<long(const std::string&)> read;
    ~Cleanup() {
      pid_t pid = static_cast<pid_t>(read(pidFile));
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        waitUntil([&] { return ::kill(pid, 0) != 0; });
      }
      ::unlink((dir + "/jwt.key").c_str());
      ::rmdir(dir.c_str());
      ::unlink(portFile.c_str());
      ::unlink(pidFile.c_str());
    }
  } cleanup{dir, portFile, pidFile, readNumber};

  ServerProcess::Exit parent = ServerProcess::runToExit(
      {"--daemon", "--pidfile=" + pidFile, "--backend", "memory", "--port",
       "0", "-D", "rtdemo.port-file=" + portFile, "-D",
       "rtdemo.auth.publish=jwt", "-D",
       "rtdemo.auth.jwt.secret-file=" + dir + "/jwt.key"});
  EXPECT_EQ(parent.code, 0) << parent.stderrText;  // it exits once forked
  // The daemon's own stderr is /dev/null: its port file is the sign of life.
  long port = 0;
  ASSERT_TRUE(waitUntil([&] { return (port = readNumber(portFile)) != 0; },
                        std::chrono::seconds(20)))
      << "the daemon did not start (a key file it cannot read stops it)";
  EXPECT_GT(readNumber(pidFile), 0);
  const int p = static_cast<int>(port);
  EXPECT_EQ(sendForm(p, "c", "x", bearer(makeToken("--publish c"))).status,
            201);
  EXPECT_EQ(sendForm(p, "c", "x", bearer(makeToken("--publish c", std::string(40, 'z'))))
                .status,
            401);
}

}  // namespace
}  // namespace rtdemo
