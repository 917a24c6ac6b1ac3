// Exactly-once Durable Streams appends across SIGKILL (issue 20), on SQLite
// and on Redis: the real build/rtdemo, idempotent producers (Producer-Id,
// -Epoch, -Seq) appending over HTTP, and rtdemo killed three times while
// they do. Every append whose answer was lost is retried after the restart
// with the same producer tuple, and every retry must be answered 200 (it
// had not been stored) or 204 (it had, and the producer state came with
// it). The stream must end with each producer's seqs exactly once, in order.
//
// How a kill lands between the store and the answer, two ways each time:
//   - sixteen producers keep an append in flight all the time, and the kill
//     comes when the answered count passes a mark: whatever was stored but
//     not yet answered at that instant is retried (the window the backend
//     could get wrong, if the producer state were committed apart from the
//     messages);
//   - one more producer, on a stream of its own, sends an append and does not
//     read the answer; the kill comes once the append is visible in the
//     stream (its tail moved), so that one append is certainly stored and
//     unanswered, and its retry must be 204.
// Nothing waits on time: on counts, on the tail, on the port accepting.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

constexpr int kProducers = 16;
constexpr int kSeqs = 40;
constexpr int kKills = 3;
const char* kStream = "/v1/stream/crash";
const char* kSolo = "/v1/stream/crash-solo";

std::map<std::string, std::string> claim(const std::string& id, int seq) {
  return {{"Producer-Id", id}, {"Producer-Epoch", "0"}, {"Producer-Seq", std::to_string(seq)}};
}

std::string body(int producer, int seq) {
  return "{\"p\":" + std::to_string(producer) + ",\"s\":" + std::to_string(seq) + "}";
}

// Every message of the stream, following Stream-Next-Offset to the tail.
std::string readAll(int port, const std::string& path) {
  std::string all, offset = "-1";
  for (int page = 0; page < 10000; ++page) {
    HttpResponse r = httpGet(port, path + "?offset=" + offset);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) break;
    all += r.body;
    if (r.header("stream-up-to-date") == "true") break;
    offset = r.header("stream-next-offset");
  }
  return all;
}

// The (producer, seq) pairs of a JSON stream's pages, in stream order.
std::vector<std::pair<int, int>> pairsOf(const std::string& json) {
  std::vector<std::pair<int, int>> out;
  static const std::regex re("\\{\"p\":(\\d+),\"s\":(\\d+)\\}");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), re);
       it != std::sregex_iterator(); ++it)
    out.emplace_back(std::stoi((*it)[1]), std::stoi((*it)[2]));
  return out;
}

class StreamsCrash {
 public:
  explicit StreamsCrash(std::vector<std::string> args) : args_(std::move(args)) {
    args_.insert(args_.end(), {"-D", "rtdemo.limits.send.rate=0"});
    server_ = std::make_unique<ServerProcess>(args_);
    port_ = server_->port();
  }
  // A test that stopped early stops its producers before they go.
  ~StreamsCrash() {
    fail("the test ended");
    for (auto& t : producers_) t.join();
  }

  void run() {
    ASSERT_TRUE(server_->ready());
    ASSERT_EQ(httpRequest(port_, "PUT", kStream, "", "application/json").status, 201);
    ASSERT_EQ(httpRequest(port_, "PUT", kSolo, "", "application/json").status, 201);
    for (int p = 0; p < kProducers; ++p) producers_.emplace_back([this, p] { produce(p); });
    int soloSeq = 0;
    for (int kill = 1; kill <= kKills; ++kill) {
      // The free-running producers: kill when the answered count passes
      // the mark, with appends in flight.
      const int mark = kill * kProducers * kSeqs / (kKills + 1);
      ASSERT_TRUE(waitUntil([&] { return answered_.load() >= mark || failed(); }, 120s));
      ASSERT_FALSE(failed()) << firstError();
      // The solo producer: stored, certainly not answered.
      std::string before = tail(kSolo);
      ASSERT_FALSE(before.empty());
      int fd = connectLoopback(port_);
      ASSERT_GE(fd, 0);
      ASSERT_TRUE(sendPost(fd, kSolo, body(99, soloSeq), claim("solo", soloSeq)));
      ASSERT_TRUE(waitUntil([&] { return tail(kSolo) != before; }, 30s)) << "solo append";
      ASSERT_EQ(server_->stop(SIGKILL), 128 + SIGKILL);
      ::close(fd);  // its answer, if written, is never read
      server_ = std::make_unique<ServerProcess>(args_, port_);
      ASSERT_TRUE(server_->ready());
      HttpResponse retry = httpRequest(port_, "POST", kSolo, body(99, soloSeq),
                                       "application/json", claim("solo", soloSeq), 10s);
      EXPECT_EQ(retry.status, 204) << "the solo retry of seq " << soloSeq << ": " << retry.body;
      ++soloSeq;
    }
    for (auto& t : producers_) t.join();
    producers_.clear();
    ASSERT_FALSE(failed()) << firstError();

    std::vector<std::pair<int, int>> got = pairsOf(readAll(port_, kStream));
    std::vector<int> next(kProducers, 0);
    for (const auto& [p, s] : got) {
      ASSERT_TRUE(p >= 0 && p < kProducers) << p;
      ASSERT_EQ(s, next[p]) << "producer " << p << ": seq " << s << " where " << next[p]
                            << " was due (twice, or out of order)";
      ++next[p];
    }
    for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kSeqs) << "producer " << p;
    std::vector<std::pair<int, int>> solo = pairsOf(readAll(port_, kSolo));
    ASSERT_EQ(solo.size(), size_t(kKills));
    for (int s = 0; s < kKills; ++s) EXPECT_EQ(solo[s].second, s);
    std::printf("streams crash: %d kills; retries of unanswered appends: %d new (200), %d "
                "duplicates (204), plus %d solo duplicates\n",
                kKills, retried200_.load(), retried204_.load(), kKills);
  }

 private:
  // One producer: every seq in order, one in flight; an append without an
  // answer is sent again, as it was, once the server accepts again.
  void produce(int p) {
    const std::string id = "p" + std::to_string(p);
    for (int seq = 0; seq < kSeqs && !failed(); ++seq) {
      bool retry = false;
      for (int attempt = 0;; ++attempt) {
        if (attempt > 50) return fail(id + ": no answer after 50 attempts");
        HttpResponse r = httpRequest(port_, "POST", kStream, body(p, seq), "application/json",
                                     claim(id, seq), 10s);
        if (r.status == 200 || r.status == 204) {
          if (retry) ++(r.status == 200 ? retried200_ : retried204_);
          break;
        }
        if (r.status != 0)
          return fail(id + " seq " + std::to_string(seq) + ": " + std::to_string(r.status) +
                      " " + r.body);
        retry = true;  // no answer: killed, or restarting
        waitUntil([&] { return portAccepts(port_) || failed(); }, 60s);
      }
      ++answered_;
    }
  }

  std::string tail(const std::string& path) {
    return httpRequest(port_, "HEAD", path, "", "", {}, 5s).header("stream-next-offset");
  }

  static bool sendPost(int fd, const std::string& path, const std::string& data,
                       const std::map<std::string, std::string>& headers) {
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: " +
                      std::to_string(data.size()) + "\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "\r\n" + data;
    return ::write(fd, req.data(), req.size()) == ssize_t(req.size());
  }

  void fail(const std::string& why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.empty()) error_ = why;
    failed_ = true;
  }
  bool failed() const { return failed_.load(); }
  std::string firstError() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

  std::vector<std::string> args_;
  std::unique_ptr<ServerProcess> server_;  // the test thread's
  std::vector<std::thread> producers_;
  int port_ = 0;
  std::atomic<int> answered_{0}, retried200_{0}, retried204_{0};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::string error_;  // guarded by mu_
};

// One executable per backend (tests/CMakeLists.txt), for their labels.
#ifdef RTDEMO_STREAMS_CRASH_SQLITE
TEST(StreamsCrash, SqliteProducerRetriesAfterSigkillAreStoredOnce) {
  TempDir dir("rtdemo-streams-crash");
  StreamsCrash crash({"--backend", "sqlite", "-D", "rtdemo.sqlite.path=" + dir.file("s.db"),
                      "-D", "rtdemo.sqlite.synchronous=full"});
  crash.run();
}
#else
TEST(StreamsCrash, RedisProducerRetriesAfterSigkillAreStoredOnce) {
  RedisServer redis("everysec");
  ASSERT_TRUE(redis.running());
  StreamsCrash crash(rtdemoOnRedis(redis, "crash:"));
  crash.run();
}
#endif

}  // namespace
}  // namespace rtdemo
