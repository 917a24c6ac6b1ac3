// The real rtdemo on a Redis it cannot use: unreachable, or holding in
// rtdemo's keys something rtdemo never writes. Either way start-up says so in
// exactly one line naming the address (no second line from the live reader
// while it retries quietly), /send answers an error with a JSON reason,
// /healthz fails, and nothing in Redis is changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <signal.h>

#include "tests/support/http_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

std::vector<std::string> argsFor(int redisPort) {
  return {"--backend", "redis", "-D", "rtdemo.redis.host=127.0.0.1",
          "-D", "rtdemo.redis.port=" + std::to_string(redisPort),
          "-D", "rtdemo.redis.prefix=rt:", "-D", "rtdemo.redis.timeout.ms=1000"};
}

// Lines of the server's stderr that mention `text`.
int linesWith(const std::string& err, const std::string& text) {
  int n = 0;
  size_t start = 0;
  while (start < err.size()) {
    size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    if (err.substr(start, end - start).find(text) != std::string::npos) ++n;
    start = end + 1;
  }
  return n;
}

TEST(RedisUnusable, UnreachableAtStartIsOneLineAndA503) {
  RefusingPort refusing;
  const std::string address = "127.0.0.1:" + std::to_string(refusing.port());
  ServerProcess server(argsFor(refusing.port()));
  ASSERT_TRUE(server.ready());
  // The reader's first attempt runs before the port accepts, so this line is
  // already written; its retries stay quiet for a minute.
  HttpResponse send = httpRequest(server.port(), "POST", "/send", "channel=c&data=x",
                                  "application/x-www-form-urlencoded");
  EXPECT_EQ(send.status, 503);
  EXPECT_FALSE(jsonField(send.body, "error").empty()) << send.body;
  EXPECT_EQ(httpGet(server.port(), "/healthz").status, 503);
  EXPECT_EQ(server.stop(SIGTERM), 0);
  const std::string err = server.stderrText();
  EXPECT_EQ(linesWith(err, "is unreachable at start"), 1) << err;
  EXPECT_EQ(linesWith(err, address), linesWith(err, "is unreachable at start") +
                                         linesWith(err, "publish to channel c from"))
      << err;
  // No line from the reader's retries.
  EXPECT_EQ(linesWith(err, "live reader cannot reach"), 0) << err;
}

TEST(RedisUnusable, ForeignEpochKeyIsOneLineA500AndLeftAsItWas) {
  RedisServer redis;
  ASSERT_TRUE(redis.running());
  ASSERT_EQ(redis.command({"SET", "rt:epoch", "NOT AN EPOCH!"}), "OK");
  ServerProcess server(argsFor(redis.port()));
  ASSERT_TRUE(server.ready());
  HttpResponse send = httpRequest(server.port(), "POST", "/send", "channel=c&data=x",
                                  "application/x-www-form-urlencoded");
  EXPECT_EQ(send.status, 500);
  EXPECT_NE(jsonField(send.body, "error").find("rt:epoch"), std::string::npos) << send.body;
  HttpResponse health = httpGet(server.port(), "/healthz");
  EXPECT_EQ(health.status, 503);
  EXPECT_NE(health.body.find("rt:epoch"), std::string::npos) << health.body;
  EXPECT_EQ(server.stop(SIGTERM), 0);
  EXPECT_EQ(linesWith(server.stderrText(), "holds data rtdemo cannot use"), 1)
      << server.stderrText();
  EXPECT_EQ(redis.command({"KEYS", "*"}), "rt:epoch");
  EXPECT_EQ(redis.command({"GET", "rt:epoch"}), "NOT AN EPOCH!");
}

}  // namespace
}  // namespace rtdemo
