// rtdemo_broker_bench: publishing throughput at the Broker, below HTTP.
//
// N asynchronous publishers, each a chain (its next publish starts from the
// completion of the previous one, as a kept-alive HTTP publisher would), run
// for --seconds against the SQLite or Redis backend; with --batch B each
// publish is a publishBatch of B messages. Prints one "key=value" line:
// messages per second, publishes per second, and the latency of a publish
// from publishAsync() to its completion (p50, p99). bench/broker_publish.sh
// runs it beside the ceilings it is measured against: rtdemo_sqlite_bench
// (raw SQLite) and redis-benchmark XADD.
//
// usage: rtdemo_broker_bench --backend sqlite|redis [--path FILE]
//        [--redis-port P] [--publishers N] [--batch B] [--seconds S]
//        [--data-bytes D] [--synchronous full|normal]
// A SQLite FILE is deleted and recreated; Redis uses the prefix bench:.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/broker.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string backend;
  std::string path = "/tmp/rtdemo-broker-bench.db";
  std::string synchronous = "full";
  int redisPort = 6379;
  int publishers = 64;
  int batch = 1;
  double seconds = 5;
  size_t dataBytes = 5;  // "hello", as bench/wrk_send.lua sends
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "rtdemo_broker_bench: %s\n"
               "usage: rtdemo_broker_bench --backend sqlite|redis [--path FILE] [--redis-port P]\n"
               "       [--publishers N] [--batch B] [--seconds S] [--data-bytes D]\n"
               "       [--synchronous full|normal]\n",
               why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value for " + a);
      return argv[++i];
    };
    if (a == "--backend") o.backend = value();
    else if (a == "--path") o.path = value();
    else if (a == "--synchronous") o.synchronous = value();
    else if (a == "--redis-port") o.redisPort = std::atoi(value().c_str());
    else if (a == "--publishers") o.publishers = std::atoi(value().c_str());
    else if (a == "--batch") o.batch = std::atoi(value().c_str());
    else if (a == "--seconds") o.seconds = std::atof(value().c_str());
    else if (a == "--data-bytes") o.dataBytes = std::strtoul(value().c_str(), nullptr, 10);
    else usage("unknown option " + a);
  }
  if (o.backend != "sqlite" && o.backend != "redis") usage("--backend must be sqlite or redis");
  if (o.publishers < 1 || o.batch < 1 || o.seconds <= 0) usage("counts and --seconds must be positive");
  return o;
}

// What the chains share. Completions run on the backend's thread.
struct Run {
  rtdemo::Broker* broker = nullptr;
  Options o;
  std::string data;
  Clock::time_point end;
  std::atomic<long long> messages{0}, publishes{0}, failures{0};
  std::atomic<int> running{0};
  std::mutex mu;
  std::vector<double> latencyUs;  // guarded by mu (sampled: every 8th)
};

void publishFrom(Run* run, int p, long n) {
  if (Clock::now() >= run->end) {
    run->running.fetch_sub(1);
    return;
  }
  const std::string channel = "bench" + std::to_string(p % 16);
  auto started = Clock::now();
  auto finish = [run, p, n, started](const rtdemo::Status& s, size_t count) {
    if (s.ok()) {
      run->messages.fetch_add(static_cast<long long>(count));
      run->publishes.fetch_add(1);
    } else {
      run->failures.fetch_add(1);
    }
    if ((n & 7) == 0) {
      double us = std::chrono::duration<double, std::micro>(Clock::now() - started).count();
      std::lock_guard<std::mutex> lock(run->mu);
      run->latencyUs.push_back(us);
    }
    publishFrom(run, p, n + 1);
  };
  if (run->o.batch == 1) {
    run->broker->publishAsync(channel, "", run->data,
                              [finish](const rtdemo::Status& s, const rtdemo::MessagePtr&) {
                                finish(s, 1);
                              });
  } else {
    std::vector<rtdemo::PublishItem> items(run->o.batch, {channel, "", run->data});
    run->broker->publishBatchAsync(
        std::move(items), [finish](const rtdemo::Status& s, const std::vector<rtdemo::MessagePtr>& m) {
          finish(s, m.size());
        });
  }
}

double percentile(std::vector<double>* v, double q) {
  if (v->empty()) return 0;
  size_t k = std::min(v->size() - 1, static_cast<size_t>(q * v->size()));
  std::nth_element(v->begin(), v->begin() + k, v->end());
  return (*v)[k];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  rtdemo::BrokerConfig config;
  config.backend = o.backend;
  config.historyMaxAgeSeconds = 0;
  config.batchMaxMessages = std::max<size_t>(config.batchMaxMessages, o.batch);
  if (o.backend == "sqlite") {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((o.path + suffix).c_str());
    config.sqlitePath = o.path;
    config.sqliteSynchronous = o.synchronous;
  } else {
    config.redisPort = o.redisPort;
    config.redisPrefix = "bench:";
  }
  rtdemo::Status s;
  std::unique_ptr<rtdemo::Broker> broker = rtdemo::openBroker(config, &s);
  if (!broker) {
    std::fprintf(stderr, "rtdemo_broker_bench: %s\n", s.toString().c_str());
    return 1;
  }
  Run run;
  run.broker = broker.get();
  run.o = o;
  run.data.assign(o.dataBytes, 'x');
  auto start = Clock::now();
  run.end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  run.running = o.publishers;
  for (int p = 0; p < o.publishers; ++p) publishFrom(&run, p, 0);
  while (run.running.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::lock_guard<std::mutex> lock(run.mu);
  std::printf(
      "backend=%s publishers=%d batch=%d messages_per_sec=%.0f publishes_per_sec=%.0f "
      "p50_us=%.0f p99_us=%.0f failures=%lld\n",
      o.backend.c_str(), o.publishers, o.batch, run.messages.load() / secs,
      run.publishes.load() / secs, percentile(&run.latencyUs, 0.5),
      percentile(&run.latencyUs, 0.99), run.failures.load());
  broker.reset();
  if (o.backend == "sqlite")
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((o.path + suffix).c_str());
  return run.failures.load() == 0 ? 0 : 1;
}
