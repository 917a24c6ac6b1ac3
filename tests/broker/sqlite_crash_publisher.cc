// sqlite_crash_publisher: the process that sqlite_crash_test.cc SIGKILLs.
//
// Opens the SQLite backend on the file it is given, with synchronous=full,
// and runs 64 asynchronous publishers on it until it is killed. Each
// publisher is a chain: its next publish starts from the completion of the
// previous one (on the writer thread), so 64 publishes are always in flight
// with no thread per publisher. Every eighth publisher sends batches of 5.
// Each acknowledged message is printed as one line, after its completion
// reported OK, in a single write(2):
//   acked <id> <channel> <data>
// and "ready" is printed once the broker is open. A line on stdout is
// therefore a promise: that message is committed and synced.
//
// usage: sqlite_crash_publisher FILE
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "storage/sqlite_broker.h"

namespace {

constexpr int kPublishers = 64;
constexpr int kBatch = 5;

std::mutex outMu;

void emit(const std::string& line) {
  std::lock_guard<std::mutex> lock(outMu);
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(1, line.data() + off, line.size() - off);
    if (n <= 0) _exit(3);  // the test went away
    off += static_cast<size_t>(n);
  }
}

void ack(const rtdemo::MessagePtr& m) {
  emit("acked " + m->idText + " " + m->channel + " " + m->data + "\n");
}

// Publisher p's n-th publish, and the next one from its completion.
void publishFrom(rtdemo::Broker* broker, int p, long n) {
  const std::string channel = "crash" + std::to_string(p % 4);
  const std::string data = std::to_string(p) + ":" + std::to_string(n);
  if (p % 8 == 0) {
    std::vector<rtdemo::PublishItem> items;
    for (int i = 0; i < kBatch; ++i) items.push_back({channel, "", data + "." + std::to_string(i)});
    broker->publishBatchAsync(std::move(items), [broker, p, n](const rtdemo::Status& s,
                                                               const std::vector<rtdemo::MessagePtr>& ms) {
      if (s.ok()) {
        for (const auto& m : ms) ack(m);
      }
      publishFrom(broker, p, n + 1);
    });
  } else {
    broker->publishAsync(channel, "", data,
                         [broker, p, n](const rtdemo::Status& s, const rtdemo::MessagePtr& m) {
                           if (s.ok()) ack(m);
                           publishFrom(broker, p, n + 1);
                         });
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sqlite_crash_publisher FILE\n");
    return 2;
  }
  rtdemo::BrokerConfig config;
  config.backend = "sqlite";
  config.sqlitePath = argv[1];
  config.sqliteSynchronous = "full";
  config.historySize = 10000000;  // nothing trimmed: the test finds every ack
  config.historyMaxAgeSeconds = 0;
  config.historyMaxBytes = 1ull << 40;
  rtdemo::Status s;
  std::unique_ptr<rtdemo::Broker> broker = rtdemo::openSqliteBroker(config, &s);
  if (!broker) {
    std::fprintf(stderr, "sqlite_crash_publisher: %s\n", s.toString().c_str());
    return 1;
  }
  emit("ready\n");
  for (int p = 0; p < kPublishers; ++p) publishFrom(broker.get(), p, 0);
  for (;;) ::pause();  // until SIGKILL
}
