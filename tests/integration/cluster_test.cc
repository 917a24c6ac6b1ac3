// Several rtdemo instances on one Redis, as scripts/cluster.sh and
// systemd/rtdemo@.service run them (issue 22), at CI size:
//   - six instances: a message sent to any instance reaches every subscriber
//     of every instance, in one order, and a client resumes on any instance
//     with no gap and no duplicate;
//   - six instances streaming while one is SIGKILLed: its clients resume on
//     the others from their Last-Event-ID with nothing lost or repeated;
//   - three instances across a Redis restart;
//   - three instances on one port (rtdemo.reuse-port): the kernel spreads
//     the connections over them, and every subscriber gets every message.
// Every wait is on an observable condition (an event, a closed stream, a
// metric, a status code), never a fixed sleep.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>

#include "tests/support/http_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> instanceArgs(const RedisServer& redis) {
  return rtdemoOnRedis(redis, "cluster:");
}

// n instances on one Redis; instance i is instances[i].
std::vector<std::unique_ptr<ServerProcess>> startInstances(const RedisServer& redis, int n) {
  std::vector<std::unique_ptr<ServerProcess>> out;
  for (int i = 0; i < n; ++i) out.push_back(std::make_unique<ServerProcess>(instanceArgs(redis)));
  for (auto& s : out) EXPECT_TRUE(s->ready()) << s->stderrText();
  return out;
}

std::string cursorNow(int port, const std::string& channel) {
  return jsonField(httpGet(port, "/poll?channel=" + channel + "&timeout=0").body, "last_id");
}

// One subscriber and the ids of every message it has received, across the
// streams it opened.
struct Subscriber {
  size_t instance = 0;
  std::unique_ptr<SseClient> stream;
  std::vector<std::string> ids;

  // Reads until it holds `want` ids, or its stream closes, or `limit`.
  void readUntil(size_t want, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (ids.size() < want && !stream->closed() && std::chrono::steady_clock::now() < deadline) {
      auto got = stream->messages(1, 500ms);
      for (const SseEvent& e : got) {
        EXPECT_EQ(e.type, "message") << "unexpected event: " << e.data;
        ids.push_back(e.id);
      }
    }
  }
  std::string last() const { return ids.empty() ? "" : ids.back(); }
};

// Opens `perInstance` SSE subscribers of `channel` on every instance, from
// `cursor`, and waits until every instance holds its streams.
std::vector<Subscriber> subscribeEverywhere(const std::vector<std::unique_ptr<ServerProcess>>& inst,
                                            const std::string& channel, const std::string& cursor,
                                            int perInstance) {
  std::vector<Subscriber> subs;
  for (size_t i = 0; i < inst.size(); ++i) {
    for (int k = 0; k < perInstance; ++k) {
      Subscriber s;
      s.instance = i;
      s.stream = std::make_unique<SseClient>(inst[i]->port(), "/events?channel=" + channel, cursor);
      EXPECT_EQ(s.stream->status(), 200);
      subs.push_back(std::move(s));
    }
  }
  for (const auto& s : inst) {
    EXPECT_TRUE(waitUntil([&] { return openConnections(s->port(), "sse") == perInstance; }))
        << "instance on port " << s->port() << " holds " << openConnections(s->port(), "sse");
  }
  return subs;
}

TEST(Cluster, SixInstancesEveryMessageReachesEverySubscriberAndResumesAnywhere) {
  RedisServer redis;
  ASSERT_TRUE(redis.running());
  auto inst = startInstances(redis, 6);
  std::string cursor = cursorNow(inst[0]->port(), "all");
  ASSERT_FALSE(cursor.empty());
  std::vector<Subscriber> subs = subscribeEverywhere(inst, "all", cursor, 2);

  // One message through each instance, in turn.
  std::vector<std::string> sent;
  for (size_t k = 0; k < inst.size(); ++k) {
    sent.push_back(publish(inst[k]->port(), "all", "via instance " + std::to_string(k)));
  }
  for (Subscriber& s : subs) {
    s.readUntil(sent.size());
    EXPECT_EQ(s.ids, sent) << "subscriber on instance " << s.instance;
  }

  // A client that saw the first three resumes on each instance with exactly
  // everything after them (the live messages of earlier rounds too), then
  // gets the next live message and nothing else.
  for (size_t i = 0; i < inst.size(); ++i) {
    SseClient resumed(inst[i]->port(), "/events?channel=all", sent[2]);
    ASSERT_EQ(resumed.status(), 200);
    const size_t missed = sent.size() - 3;
    auto got = resumed.messages(missed);
    ASSERT_EQ(got.size(), missed) << "instance " << i;
    for (size_t k = 0; k < missed; ++k) EXPECT_EQ(got[k].id, sent[3 + k]) << "instance " << i;
    std::string live = publish(inst[(i + 1) % inst.size()]->port(), "all", "live " + std::to_string(i));
    sent.push_back(live);
    auto next = resumed.messages(1);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].id, live) << "a duplicate or a gap on instance " << i;
  }
  // Every first subscriber saw those live messages too, once each.
  for (Subscriber& s : subs) {
    s.readUntil(sent.size());
    EXPECT_EQ(s.ids, sent) << "subscriber on instance " << s.instance;
  }
}

TEST(Cluster, ClientsOfASigkilledInstanceResumeOnTheOthersWithNothingLost) {
  RedisServer redis;
  ASSERT_TRUE(redis.running());
  auto inst = startInstances(redis, 6);
  std::string cursor = cursorNow(inst[0]->port(), "live");
  std::vector<Subscriber> subs = subscribeEverywhere(inst, "live", cursor, 3);

  // A publisher that keeps sending through the five survivors, one message
  // at a time (so the order of ids is the order of sending).
  constexpr int kMessages = 40;
  std::mutex mu;
  std::vector<std::string> sent;
  std::atomic<int> published{0};
  auto publisher = std::async(std::launch::async, [&] {
    for (int k = 0; k < kMessages; ++k) {
      std::string id = publish(inst[1 + k % 5]->port(), "live", "m" + std::to_string(k));
      {
        std::lock_guard<std::mutex> lock(mu);
        sent.push_back(id);
      }
      ++published;
    }
  });

  // Kill instance 0 while everyone streams: once its own clients have
  // received some of the messages.
  ASSERT_TRUE(waitUntil([&] { return published.load() >= 5; }, 20s));
  for (Subscriber& s : subs) {
    if (s.instance == 0) s.readUntil(3);
  }
  ASSERT_EQ(inst[0]->stop(SIGKILL), 128 + SIGKILL);
  const auto killedAt = std::chrono::steady_clock::now();

  // Its clients see their stream end (after what was already in their
  // sockets), then reconnect to another instance with their Last-Event-ID,
  // spread over the survivors as a load balancer would.
  int moved = 0;
  for (Subscriber& s : subs) {
    if (s.instance != 0) continue;
    s.readUntil(kMessages, 10s);
    ASSERT_TRUE(s.stream->closed()) << "the killed instance's stream did not end";
    ASSERT_FALSE(s.ids.empty());
    s.instance = 1 + moved++ % 5;
    s.stream = std::make_unique<SseClient>(inst[s.instance]->port(), "/events?channel=live", s.last());
    ASSERT_EQ(s.stream->status(), 200);
  }
  ASSERT_EQ(moved, 3);

  publisher.get();
  ASSERT_EQ(sent.size(), static_cast<size_t>(kMessages));
  for (Subscriber& s : subs) {
    s.readUntil(sent.size(), 20s);
    EXPECT_EQ(s.ids, sent) << "subscriber now on instance " << s.instance;
  }
  auto resumedMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - killedAt)
                       .count();
  RecordProperty("kill_to_all_caught_up_ms", static_cast<int>(resumedMs));
}

int sendStatus(int port, const std::string& data) {
  return httpRequest(port, "POST", "/send", "channel=r&data=" + urlEncode(data),
                     "application/x-www-form-urlencoded")
      .status;
}

TEST(Cluster, ThreeInstancesStreamAcrossARedisRestartWithNothingLost) {
  RedisServer redis("always");
  ASSERT_TRUE(redis.running());
  auto inst = startInstances(redis, 3);
  std::string cursor = cursorNow(inst[0]->port(), "r");
  std::vector<Subscriber> subs = subscribeEverywhere(inst, "r", cursor, 2);

  std::vector<std::string> sent;
  for (size_t k = 0; k < 3; ++k) sent.push_back(publish(inst[k]->port(), "r", "before " + std::to_string(k)));
  for (Subscriber& s : subs) s.readUntil(sent.size());

  ASSERT_TRUE(redis.stop(SIGTERM));
  for (const auto& s : inst) {
    EXPECT_TRUE(waitUntil([&] { return sendStatus(s->port(), "while away") == 503; }, 10s));
  }
  ASSERT_TRUE(redis.start());
  for (const auto& s : inst) {
    EXPECT_TRUE(waitUntil([&] { return httpGet(s->port(), "/healthz").status == 200; }, 20s));
  }
  for (size_t k = 0; k < 3; ++k) sent.push_back(publish(inst[k]->port(), "r", "after " + std::to_string(k)));
  for (Subscriber& s : subs) {
    s.readUntil(sent.size(), 20s);
    EXPECT_FALSE(s.stream->closed()) << "a stream was cut by the Redis restart";
    EXPECT_EQ(s.ids, sent) << "subscriber on instance " << s.instance;
  }
  // No duplicate behind them: the next message is the next event everywhere.
  sent.push_back(publish(inst[1]->port(), "r", "last"));
  for (Subscriber& s : subs) {
    s.readUntil(sent.size());
    EXPECT_EQ(s.ids, sent) << "subscriber on instance " << s.instance;
  }
}

// Established connections on local port `port`, by the pid holding them
// (ss -p, as root: every process's sockets).
std::map<pid_t, int> connectionsByPid(int port) {
  std::map<pid_t, int> out;
  std::string cmd = "ss -Htnp state established '( sport = :" + std::to_string(port) + " )'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, p)) {
    const char* at = std::strstr(line, "pid=");
    if (at) ++out[static_cast<pid_t>(std::atoi(at + 4))];
  }
  ::pclose(p);
  return out;
}

TEST(Cluster, ThreeInstancesOnOnePortShareItsConnectionsAndEveryMessage) {
  RedisServer redis;
  ASSERT_TRUE(redis.running());
  std::vector<std::string> args = instanceArgs(redis);
  args.insert(args.end(), {"-D", "rtdemo.reuse-port=on"});
  std::vector<std::unique_ptr<ServerProcess>> inst;
  inst.push_back(std::make_unique<ServerProcess>(args));
  ASSERT_TRUE(inst[0]->ready()) << inst[0]->stderrText();
  const int port = inst[0]->port();
  for (int i = 0; i < 2; ++i) {
    inst.push_back(std::make_unique<ServerProcess>(args, port));
    ASSERT_TRUE(inst.back()->ready()) << inst.back()->stderrText();
  }

  // 60 streams on the one port. The kernel hashes each connection to one of
  // the three listeners; all 60 on two of them would happen about once in
  // 10^10 runs.
  constexpr int kStreams = 60;
  std::string cursor = cursorNow(port, "one");
  std::vector<Subscriber> subs;
  for (int k = 0; k < kStreams; ++k) {
    Subscriber s;
    s.stream = std::make_unique<SseClient>(port, "/events?channel=one", cursor);
    ASSERT_EQ(s.stream->status(), 200);
    subs.push_back(std::move(s));
  }
  std::map<pid_t, int> held;
  ASSERT_TRUE(waitUntil([&] {
    held = connectionsByPid(port);
    int total = 0;
    for (const auto& s : inst) total += held[s->pid()];
    return total == kStreams;
  })) << "the three instances do not hold the " << kStreams << " streams";
  for (const auto& s : inst) EXPECT_GT(held[s->pid()], 0) << "pid " << s->pid() << " got none";

  // Publishes through the same port land on any of them; every stream, on
  // whichever instance, gets all of them in one order.
  std::vector<std::string> sent;
  for (int k = 0; k < 6; ++k) sent.push_back(publish(port, "one", "m" + std::to_string(k)));
  for (Subscriber& s : subs) {
    s.readUntil(sent.size());
    EXPECT_EQ(s.ids, sent);
  }
}

}  // namespace
}  // namespace rtdemo
