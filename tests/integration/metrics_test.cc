// GET /metrics and GET /healthz on the real build/rtdemo: the counters move
// with real traffic (streams opened and closed, publishes, replays, resets,
// refused sends), the exposition is well-formed Prometheus text, and a
// backend that cannot store shows as 503 on /healthz and in the metrics.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// A scrape: "name{labels}" (exactly as exposed) to value; # lines checked.
struct Scrape {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family name -> TYPE
  bool has(const std::string& series) const { return samples.count(series) > 0; }
  double operator[](const std::string& series) const {
    auto it = samples.find(series);
    if (it == samples.end()) {
      ADD_FAILURE() << "no series " << series;
      return -1;
    }
    return it->second;
  }
};

Scrape scrape(int port) {
  HttpResponse r = httpGet(port, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u)
      << r.header("content-type");
  Scrape s;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      s.types[name] = type;
      continue;
    }
    if (line[0] == '#') continue;
    size_t space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    std::string series = line.substr(0, space);
    EXPECT_EQ(s.samples.count(series), 0u) << "duplicate series " << series;
    s.samples[series] = std::stod(line.substr(space + 1));
    std::string family = series.substr(0, series.find('{'));
    EXPECT_EQ(family.rfind("rtdemo_", 0), 0u) << family;
  }
  return s;
}

std::vector<std::string> memoryArgs() {
  return {"--backend", "memory", "-D", "rtdemo.heartbeat.seconds=1"};
}

TEST(MetricsTest, FamiliesFollowPrometheusConventions) {
  ServerProcess server(memoryArgs());
  ASSERT_TRUE(server.ready());
  Scrape s = scrape(server.port());
  for (const auto& [family, type] : s.types) {
    if (type == "counter") {
      EXPECT_EQ(family.substr(family.size() - 6), "_total") << family;
    }
    EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << family;
  }
  EXPECT_EQ(s.types["rtdemo_publish_duration_seconds"], "histogram");
  EXPECT_EQ(s.types["rtdemo_open_connections"], "gauge");
  EXPECT_EQ(s["rtdemo_backend_up{backend=\"memory\"}"], 1);
  EXPECT_EQ(s["rtdemo_messages_published_total{via=\"send\"}"], 0);
  EXPECT_EQ(s["rtdemo_publish_duration_seconds_count"], 0);
}

// Threads of pid whose name (/proc/<pid>/task/<tid>/comm) is `name`.
int threadsNamed(pid_t pid, const std::string& name) {
  int n = 0;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++n;
  }
  return n;
}

TEST(MetricsTest, HubLoopThreadsAreNamedOnePerLoop) {
  // `top -H` and `perf sched` tell the fan-out threads apart by this name.
  std::vector<std::string> args = memoryArgs();
  args.insert(args.end(), {"-D", "rtdemo.hub.loops=3"});
  ServerProcess server(args);
  ASSERT_TRUE(server.ready());
  // The port accepts before the hub starts its loops, so wait for them.
  EXPECT_TRUE(waitUntil([&] { return threadsNamed(server.pid(), "rtdemo-hub") == 3; }))
      << threadsNamed(server.pid(), "rtdemo-hub") << " threads named rtdemo-hub";
}

TEST(MetricsTest, IoUringLoopsShowWhichSendPathFanOutUses) {
  // "on" refuses to start without io_uring, so this also fails on a machine
  // where rtdemo could not batch its sends.
  for (const char* mode : {"on", "off"}) {
    std::vector<std::string> args = memoryArgs();
    args.insert(args.end(), {"-D", "rtdemo.hub.loops=3", "-D",
                             std::string("rtdemo.hub.io-uring=") + mode});
    ServerProcess server(args);
    ASSERT_TRUE(server.ready()) << mode;
    const int port = server.port();
    EXPECT_EQ(scrape(port)["rtdemo_hub_io_uring_loops"], std::string(mode) == "on" ? 3 : 0)
        << mode;
    // Either way a fan-out and the heartbeats reach every subscriber.
    std::vector<std::unique_ptr<SseClient>> subs;
    for (int i = 0; i < 6; ++i) {
      subs.push_back(std::make_unique<SseClient>(port, "/events?channel=path"));
      ASSERT_EQ(subs.back()->status(), 200);
    }
    ASSERT_TRUE(waitUntil(
        [&] { return scrape(port)["rtdemo_open_connections{transport=\"sse\"}"] == 6; }));
    std::string id = publish(port, "path", std::string("via ") + mode);
    for (auto& sub : subs) {
      auto got = sub->messages(1);
      ASSERT_EQ(got.size(), 1u) << mode;
      EXPECT_EQ(got[0].id, id);
      EXPECT_EQ(got[0].data, std::string("via ") + mode);
    }
    // Heartbeats (every second here) are a second kind of round.
    for (auto& sub : subs) {
      bool beat = false;
      for (int i = 0; i < 5 && !beat; ++i) {
        auto ev = sub->next(3s);
        ASSERT_TRUE(ev.has_value()) << mode;
        beat = ev->type == "heartbeat";
      }
      EXPECT_TRUE(beat) << mode;
    }
  }
}

TEST(MetricsTest, DemoTickerPublishesAreCountedApart) {
  std::vector<std::string> args = memoryArgs();
  args.insert(args.end(), {"-D", "rtdemo.demo.interval.seconds=1"});
  ServerProcess server(args);
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  EXPECT_TRUE(waitUntil(
      [&] { return scrape(port)["rtdemo_messages_published_total{via=\"demo\"}"] >= 2; }));
  Scrape s = scrape(port);
  EXPECT_EQ(s["rtdemo_messages_published_total{via=\"send\"}"], 0);
  EXPECT_EQ(s["rtdemo_messages_published_total{via=\"websocket\"}"], 0);
}

TEST(MetricsTest, CountersFollowRealTraffic) {
  ServerProcess server(memoryArgs());
  ASSERT_TRUE(server.ready());
  const int port = server.port();

  auto sse = std::make_unique<SseClient>(port, "/events?channel=m");
  ASSERT_EQ(sse->status(), 200);
  ASSERT_TRUE(waitUntil(
      [&] { return scrape(port)["rtdemo_open_connections{transport=\"sse\"}"] == 1; }));

  std::string first = publish(port, "m", "one");
  publish(port, "m", "two");
  publish(port, "m", "three");
  ASSERT_EQ(sse->messages(3).size(), 3u);
  // A refused send: no data.
  EXPECT_EQ(httpRequest(port, "POST", "/send", "channel=m", "application/x-www-form-urlencoded")
                .status,
            400);

  Scrape s = scrape(port);
  EXPECT_EQ(s["rtdemo_messages_published_total{via=\"send\"}"], 3);
  EXPECT_GE(s["rtdemo_messages_delivered_total"], 3);
  EXPECT_EQ(s["rtdemo_send_requests_total{code=\"201\"}"], 3);
  EXPECT_EQ(s["rtdemo_send_requests_total{code=\"400\"}"], 1);
  EXPECT_EQ(s["rtdemo_send_requests_total{code=\"503\"}"], 0);
  EXPECT_EQ(s["rtdemo_backend_errors_total{backend=\"memory\"}"], 0);

  // The histogram: one observation per publish, cumulative buckets that
  // never decrease, +Inf equal to the count, a plausible sum.
  EXPECT_EQ(s["rtdemo_publish_duration_seconds_count"], 3);
  EXPECT_EQ(s["rtdemo_publish_duration_seconds_bucket{le=\"+Inf\"}"], 3);
  EXPECT_GT(s["rtdemo_publish_duration_seconds_sum"], 0);
  EXPECT_LT(s["rtdemo_publish_duration_seconds_sum"], 3);
  double previous = 0;
  int buckets = 0;
  for (const auto& [series, value] : s.samples) {
    if (series.rfind("rtdemo_publish_duration_seconds_bucket{", 0) != 0) continue;
    ++buckets;
    if (series.find("+Inf") != std::string::npos) continue;
    EXPECT_LE(value, 3) << series;
  }
  EXPECT_GE(buckets, 10);
  for (const char* le : {"0.0001", "0.001", "0.01", "0.1", "1", "2.5", "+Inf"}) {
    std::string series = std::string("rtdemo_publish_duration_seconds_bucket{le=\"") + le + "\"}";
    EXPECT_GE(s[series], previous) << series;
    previous = s[series];
  }

  // Heartbeats are counted (one a second on this server).
  ASSERT_TRUE(waitUntil([&] { return scrape(port)["rtdemo_heartbeats_total"] >= 1; }));

  // A resume replays from history; a cursor from another epoch is a reset.
  SseClient resumed(port, "/events?channel=m", first);
  ASSERT_EQ(resumed.messages(2).size(), 2u);
  SseClient stale(port, "/events?channel=m", "999999-5");
  ASSERT_TRUE(stale.next().has_value());
  s = scrape(port);
  EXPECT_GE(s["rtdemo_messages_replayed_total"], 2);
  EXPECT_GE(s["rtdemo_resets_total"], 1);
  EXPECT_EQ(s["rtdemo_open_connections{transport=\"sse\"}"], 3);

  // Closing streams brings the gauge back down.
  sse.reset();
  resumed.close();
  stale.close();
  EXPECT_TRUE(waitUntil(
      [&] { return scrape(port)["rtdemo_open_connections{transport=\"sse\"}"] == 0; }));
}

TEST(MetricsTest, HeldPollsAreCountedByTransport) {
  ServerProcess server(memoryArgs());
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  int fd = connectLoopback(port);
  ASSERT_TRUE(sendGet(fd, "/poll?channel=p&timeout=20"));
  EXPECT_TRUE(waitUntil(
      [&] { return scrape(port)["rtdemo_open_connections{transport=\"poll\"}"] == 1; }));
  publish(port, "p", "wake");
  EXPECT_TRUE(waitUntil(
      [&] { return scrape(port)["rtdemo_open_connections{transport=\"poll\"}"] == 0; }));
  ::close(fd);
}

TEST(MetricsTest, PollsOnTheHubAreCountedByState) {
  ServerProcess server(memoryArgs());
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  auto polls = [&](const char* state) {
    return scrape(port)[std::string("rtdemo_hub_polls{state=\"") + state + "\"}"];
  };
  int fd = connectLoopback(port);
  ASSERT_TRUE(sendGet(fd, "/poll?channel=p&timeout=20"));  // HTTP/1.1: kept alive
  EXPECT_TRUE(waitUntil([&] { return polls("parked") == 1; }));
  EXPECT_EQ(polls("idle"), 0);
  publish(port, "p", "wake");
  EXPECT_TRUE(waitUntil([&] { return polls("parked") == 0 && polls("idle") == 1; }));
  ::close(fd);
  EXPECT_TRUE(waitUntil([&] { return polls("idle") == 0; }));
}

TEST(MetricsTest, HealthzIsOkWhenTheBackendCanPublish) {
  ServerProcess server(memoryArgs());
  ASSERT_TRUE(server.ready());
  HttpResponse r = httpGet(server.port(), "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(jsonField(r.body, "status"), "ok");
  EXPECT_EQ(jsonField(r.body, "backend"), "memory");
}

// Redis on a port where nothing listens: rtdemo starts anyway (it reconnects
// by itself), and says it cannot publish.
TEST(MetricsTest, UnavailableBackendIs503WithReasonAndCounted) {
  RefusingPort dead;
  ServerProcess server({"--backend", "redis", "-D",
                        "rtdemo.redis.port=" + std::to_string(dead.port()), "-D",
                        "rtdemo.redis.timeout.ms=200"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();

  HttpResponse health = httpGet(port, "/healthz");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.header("content-type").rfind("application/json", 0), 0u);
  EXPECT_EQ(jsonField(health.body, "status"), "unavailable");
  EXPECT_FALSE(jsonField(health.body, "reason").empty()) << health.body;

  EXPECT_EQ(httpRequest(port, "POST", "/send", "channel=r&data=x",
                        "application/x-www-form-urlencoded")
                .status,
            503);
  Scrape s = scrape(port);
  EXPECT_EQ(s["rtdemo_backend_up{backend=\"redis\"}"], 0);
  EXPECT_EQ(s["rtdemo_send_requests_total{code=\"503\"}"], 1);
  EXPECT_EQ(s["rtdemo_backend_errors_total{backend=\"redis\"}"], 1);
  EXPECT_EQ(s["rtdemo_messages_published_total{via=\"send\"}"], 0);
  EXPECT_EQ(s["rtdemo_publish_duration_seconds_count"], 1);
}

}  // namespace
}  // namespace rtdemo
