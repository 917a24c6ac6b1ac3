// Configuration parsing: defaults, overrides and the error for each bad value.
#include "service/app/settings.h"

#include <gtest/gtest.h>

#include "Poco/AutoPtr.h"
#include "Poco/Util/MapConfiguration.h"

namespace rtdemo {
namespace {

Status load(std::initializer_list<std::pair<const char*, const char*>> kv, Settings* out) {
  Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
  for (auto& p : kv) config->setString(p.first, p.second);
  return loadSettings(*config, out);
}

TEST(Settings, DefaultsWhenEmpty) {
  Settings s;
  ASSERT_TRUE(load({}, &s).ok());
  EXPECT_EQ(s.port, 5000);
  EXPECT_EQ(s.heartbeatSeconds, 15);
  EXPECT_EQ(s.pollTimeoutSeconds, 25);
  EXPECT_EQ(s.sendMaxBytes, 65536u);
  EXPECT_EQ(s.broker.historySize, 1000u);
  EXPECT_EQ(s.demoChannel, "demo");
  EXPECT_EQ(s.retryMs, 2000);
  EXPECT_EQ(s.retryJitterMs, 2000);
  EXPECT_EQ(s.hubIoUring, "auto");
  EXPECT_EQ(s.portFile, "");
  EXPECT_EQ(s.broker.batchMaxMessages, 1000u);
  EXPECT_EQ(s.broker.batchMaxBytes, 1048576u);
}

TEST(Settings, ReadsEveryKind) {
  Settings s;
  Status st = load({{"rtdemo.port", " 5050 "},
                    {"rtdemo.backend", "memory"},
                    {"rtdemo.heartbeat.seconds", "2"},
                    {"rtdemo.history.size", "7"},
                    {"rtdemo.sqlite.synchronous", "normal"},
                    {"rtdemo.redis.prefix", "x:"},
                    {"rtdemo.send.max-bytes", "10"},
                    {"rtdemo.hub.io-uring", "off"},
                    {"rtdemo.port-file", "run/port"},
                    {"rtdemo.send.batch.max-messages", "5"},
                    {"rtdemo.send.batch.max-bytes", "4096"}},
                   &s);
  ASSERT_TRUE(st.ok()) << st.toString();
  EXPECT_EQ(s.port, 5050);
  EXPECT_EQ(s.broker.backend, "memory");
  EXPECT_EQ(s.heartbeatSeconds, 2);
  EXPECT_EQ(s.broker.historySize, 7u);
  EXPECT_EQ(s.broker.sqliteSynchronous, "normal");
  EXPECT_EQ(s.broker.redisPrefix, "x:");
  EXPECT_EQ(s.sendMaxBytes, 10u);
  EXPECT_EQ(s.hubIoUring, "off");
  EXPECT_EQ(s.portFile, "run/port");
  EXPECT_EQ(s.broker.batchMaxMessages, 5u);
  EXPECT_EQ(s.broker.batchMaxBytes, 4096u);
}

TEST(Settings, EachBadValueNamesItsKey) {
  struct Case {
    const char* key;
    const char* value;
  };
  for (Case c : {Case{"rtdemo.port", "abc"}, Case{"rtdemo.port", "70000"},
                 Case{"rtdemo.port", "-1"}, Case{"rtdemo.backend", "mongo"},
                 Case{"rtdemo.heartbeat.seconds", "0"}, Case{"rtdemo.heartbeat.seconds", "1.5"},
                 Case{"rtdemo.poll.timeout.seconds", ""}, Case{"rtdemo.send.max-bytes", "0"},
                 Case{"rtdemo.sqlite.synchronous", "off"}, Case{"rtdemo.log.level", "loud"},
                 Case{"rtdemo.demo.channel", "bad channel"}, Case{"rtdemo.history.size", "0"},
                 Case{"rtdemo.redis.port", "0"}, Case{"rtdemo.hub.loops", "0"},
                 Case{"rtdemo.hub.io-uring", "yes"},
                 Case{"rtdemo.retry.jitter.ms", "-1"}, Case{"rtdemo.retry.jitter.ms", "2s"},
                 Case{"rtdemo.send.batch.max-messages", "0"},
                 Case{"rtdemo.send.batch.max-bytes", "-1"}}) {
    Settings s;
    Status st = load({{c.key, c.value}}, &s);
    EXPECT_FALSE(st.ok()) << c.key << "=" << c.value;
    EXPECT_NE(st.message().find(c.key), std::string::npos) << st.message();
    EXPECT_EQ(s.port, 5000) << "a failed load must not change the output";
  }
}

}  // namespace
}  // namespace rtdemo
