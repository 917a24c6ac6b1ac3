// What the Redis backend's own tests share (redis_broker_test.cc and the
// redis_broker_*_test.cc next to it): one private redis-server per test
// program for the cases that need not stop it (each test with its own key
// prefix), brokers opened on a port and prefix, and publishing helpers.
// Cases that stop or flush Redis start their own RedisServer.
//
// One test thread drives these; the broker calls them from none.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "storage/redis_broker.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace rtdemo {

// The redis-server of the cases that do not stop or flush it: one per test
// program, started on first use and stopped when the program ends.
inline RedisServer* sharedServer() {
  static RedisServer* server = nullptr;
  if (server == nullptr) {
    server = new RedisServer("everysec");
    // Stopped when the test program ends.
    class Stopper : public ::testing::Environment {
     public:
      void TearDown() override { delete server; server = nullptr; }
    };
    ::testing::AddGlobalTestEnvironment(new Stopper);
  }
  return server;
}

// A key prefix no other test uses, so tests on one server stay apart.
inline std::string uniquePrefix(const std::string& what) {
  return "t:" + what + ":" + newEpoch() + ":";
}

inline BrokerConfig redisConfig(int port, const std::string& prefix) {
  BrokerConfig c;
  c.backend = "redis";
  c.redisHost = "127.0.0.1";
  c.redisPort = port;
  c.redisPrefix = prefix;
  c.redisTimeoutMs = 2000;
  return c;
}

inline std::unique_ptr<Broker> openOn(int port, const std::string& prefix) {
  Status s;
  auto broker = openRedisBroker(redisConfig(port, prefix), &s);
  EXPECT_TRUE(s.ok()) << s.toString();
  return broker;
}

inline std::string mustPublish(Broker* b, const std::string& channel, const std::string& data) {
  MessagePtr m;
  Status s = b->publish(channel, "", data, &m);
  EXPECT_TRUE(s.ok()) << s.toString();
  return s.ok() ? m->idText : "";
}

// Publishes until Redis accepts (it may still be loading); returns the id.
inline std::string publishWhenBack(Broker* b, const std::string& channel, const std::string& data) {
  std::string id;
  waitUntil(
      [&] {
        MessagePtr m;
        if (!b->publish(channel, "", data, &m).ok()) return false;
        id = m->idText;
        return true;
      },
      std::chrono::seconds(20));
  EXPECT_FALSE(id.empty()) << "redis did not come back";
  return id;
}

inline void expectStrictlyIncreasing(const std::vector<MessagePtr>& got) {
  for (size_t i = 1; i < got.size(); ++i)
    EXPECT_TRUE(got[i - 1]->id < got[i]->id) << got[i - 1]->idText << " then " << got[i]->idText;
}

}  // namespace rtdemo
