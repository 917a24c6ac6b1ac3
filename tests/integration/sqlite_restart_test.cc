// The SQLite backend through the real build/rtdemo: every browser tab resumes
// exactly where it left off after a stop (SIGTERM) or a crash (SIGKILL),
// nothing acknowledged is ever lost or doubled when the server is killed
// under load, and a bad database file stops the server at start with one
// clear line while the file stays as it was.
//
// Needs root for the read-only directory case (it mounts a tmpfs).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "Poco/Data/SQLite/Connector.h"
#include "Poco/Data/Session.h"
#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "storage/message_id.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> sqliteArgs(const std::string& path,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--backend", "sqlite",
                                   "-D", "rtdemo.sqlite.path=" + path,
                                   "-D", "rtdemo.history.size=100000",
                                   "-D", "rtdemo.poll.timeout.seconds=1",
                                   "-D", "rtdemo.heartbeat.seconds=1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct PollMessage {
  std::string id;
  std::string data;
};

struct PollAnswer {
  int status = 0;
  bool reset = false;
  std::string lastId;
  std::vector<PollMessage> messages;
};

PollAnswer poll(int port, const std::string& channel, const std::string& since) {
  PollAnswer a;
  HttpResponse r = httpGet(port, "/poll?channel=" + urlEncode(channel) +
                                     "&since=" + urlEncode(since) + "&timeout=1");
  a.status = r.status;
  if (r.status != 200) return a;
  Poco::JSON::Parser parser;
  auto obj = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
  a.reset = obj->has("reset") && obj->getValue<bool>("reset");
  a.lastId = obj->getValue<std::string>("last_id");
  auto list = obj->getArray("messages");
  for (size_t i = 0; i < list->size(); ++i) {
    auto m = list->getObject(static_cast<unsigned>(i));
    a.messages.push_back({m->getValue<std::string>("id"), m->getValue<std::string>("data")});
  }
  return a;
}

// Everything retained in `channel`, read page by page with long polls.
std::vector<PollMessage> wholeHistory(int port, const std::string& channel,
                                      const std::string& epoch) {
  std::vector<PollMessage> all;
  std::string since = MessageId::start(epoch).toString();
  for (;;) {
    PollAnswer a = poll(port, channel, since);
    EXPECT_EQ(a.status, 200);
    EXPECT_FALSE(a.reset);
    if (a.status != 200 || a.messages.empty()) break;
    all.insert(all.end(), a.messages.begin(), a.messages.end());
    since = a.lastId;
  }
  return all;
}

std::string epochOf(const std::string& id) { return id.substr(0, id.find('-')); }

class SqliteRestartTest : public ::testing::TestWithParam<int> {};

TEST_P(SqliteRestartTest, ClientsResumeExactlyWhereTheyLeftOff) {
  const int signal = GetParam();
  TempDir dir{"rtdemo-sqlite-it"};
  const std::string db = dir.file("history.db");
  std::vector<std::string> ids;
  constexpr int kMessages = 30;
  constexpr int kSseAt = 9;    // the SSE client had seen ids[0..9]
  constexpr int kPollAt = 20;  // the long-poll client had seen ids[0..20]
  {
    ServerProcess server(sqliteArgs(db));
    ASSERT_TRUE(server.ready());
    for (int i = 0; i < kMessages; ++i)
      ids.push_back(publish(server.port(), "room", "message " + std::to_string(i)));
    int code = server.stop(signal);
    EXPECT_EQ(code, signal == SIGTERM ? 0 : 128 + SIGKILL) << server.stderrText();
  }
  ServerProcess server(sqliteArgs(db));
  ASSERT_TRUE(server.ready());

  SseClient sse(server.port(), "/events?channel=room", ids[kSseAt]);
  ASSERT_EQ(sse.status(), 200);
  auto replayed = sse.messages(kMessages - kSseAt - 1);
  ASSERT_EQ(replayed.size(), size_t(kMessages - kSseAt - 1));
  for (size_t i = 0; i < replayed.size(); ++i) {
    EXPECT_EQ(replayed[i].type, "message");
    EXPECT_EQ(replayed[i].id, ids[kSseAt + 1 + i]);
    EXPECT_EQ(replayed[i].data, "message " + std::to_string(kSseAt + 1 + i));
  }

  PollAnswer a = poll(server.port(), "room", ids[kPollAt]);
  ASSERT_EQ(a.status, 200);
  EXPECT_FALSE(a.reset);
  ASSERT_EQ(a.messages.size(), size_t(kMessages - kPollAt - 1));
  for (size_t i = 0; i < a.messages.size(); ++i) {
    EXPECT_EQ(a.messages[i].id, ids[kPollAt + 1 + i]);
    EXPECT_EQ(a.messages[i].data, "message " + std::to_string(kPollAt + 1 + i));
  }
  EXPECT_EQ(a.lastId, ids.back());

  // And both carry on live, with ids after the old ones.
  std::string next = publish(server.port(), "room", "after restart");
  EXPECT_TRUE(*MessageId::parse(ids.back()) < *MessageId::parse(next));
  EXPECT_EQ(epochOf(next), epochOf(ids.back()));
  auto live = sse.messages(1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].id, next);
  PollAnswer b = poll(server.port(), "room", a.lastId);
  ASSERT_EQ(b.messages.size(), 1u);
  EXPECT_EQ(b.messages[0].id, next);
}

INSTANTIATE_TEST_SUITE_P(Signals, SqliteRestartTest, ::testing::Values(SIGTERM, SIGKILL),
                         [](const auto& info) {
                           return std::string(info.param == SIGTERM ? "Sigterm" : "Sigkill");
                         });

// Publishers send without pause; the server is killed in the middle. Every
// 201 must be in the history exactly once under the id it was given, ids
// strictly increase, and an unanswered send is there at most once.
TEST(SqliteCrashTest, AcknowledgedMessagesSurviveSigkillExactlyOnce) {
  TempDir dir{"rtdemo-sqlite-it"};
  const std::string db = dir.file("history.db");
  constexpr int kPublishers = 6;
  std::mutex mu;
  std::map<std::string, std::string> acked;  // data -> id
  std::set<std::string> unanswered;          // data
  std::atomic<int> ackCount{0};
  {
    ServerProcess server(sqliteArgs(db));
    ASSERT_TRUE(server.ready());
    const int port = server.port();
    std::vector<std::thread> publishers;
    for (int t = 0; t < kPublishers; ++t) {
      publishers.emplace_back([&, t] {
        for (int n = 0;; ++n) {
          std::string data = "p" + std::to_string(t) + "-" + std::to_string(n);
          HttpResponse r = httpRequest(port, "POST", "/send",
                                       "channel=crash&data=" + urlEncode(data),
                                       "application/x-www-form-urlencoded", {}, 10s);
          std::lock_guard<std::mutex> lock(mu);
          if (r.status != 201) {
            unanswered.insert(data);
            return;
          }
          acked[data] = jsonField(r.body, "id");
          ackCount++;
        }
      });
    }
    ASSERT_TRUE(waitUntil([&] { return ackCount.load() >= 300; }, 60s));
    EXPECT_EQ(server.stop(SIGKILL), 128 + SIGKILL);
    for (auto& p : publishers) p.join();
  }
  ASSERT_FALSE(acked.empty());
  const std::string epoch = epochOf(acked.begin()->second);

  ServerProcess server(sqliteArgs(db));
  ASSERT_TRUE(server.ready());
  std::vector<PollMessage> history = wholeHistory(server.port(), "crash", epoch);
  std::set<std::string> seen;
  for (size_t i = 0; i < history.size(); ++i) {
    const PollMessage& m = history[i];
    EXPECT_TRUE(seen.insert(m.data).second) << "stored twice: " << m.data;
    EXPECT_TRUE(acked.count(m.data) || unanswered.count(m.data)) << "never sent: " << m.data;
    if (i > 0) {
      EXPECT_TRUE(*MessageId::parse(history[i - 1].id) < *MessageId::parse(m.id))
          << history[i - 1].id << " then " << m.id;
    }
  }
  for (const auto& [data, id] : acked) {
    EXPECT_TRUE(seen.count(data)) << "acknowledged but lost: " << data << " " << id;
  }
  std::map<std::string, std::string> storedId;
  for (const PollMessage& m : history) storedId[m.data] = m.id;
  for (const auto& [data, id] : acked) {
    if (storedId.count(data)) {
      EXPECT_EQ(storedId[data], id) << data;
    }
  }
}

// ---- Start-up refusals through the real binary ----

class SqliteStartTest : public ::testing::Test {
 protected:
  // Runs rtdemo on `path`; it must exit 69 with exactly one line on stderr,
  // naming the backend and containing `expected`.
  void expectRefused(const std::string& path, const std::string& expected,
                     std::vector<std::string> extra = {}) {
    auto exit = ServerProcess::runToExit(sqliteArgs(path, std::move(extra)));
    EXPECT_EQ(exit.code, 69) << exit.stderrText;
    const std::string& err = exit.stderrText;
    EXPECT_EQ(err.rfind("rtdemo: cannot open the sqlite backend: ", 0), 0u) << err;
    EXPECT_NE(err.find(expected), std::string::npos) << err;
    ASSERT_FALSE(err.empty());
    EXPECT_EQ(err.find('\n'), err.size() - 1) << "more than one line: " << err;
  }
  // A history the real server wrote, then stopped cleanly.
  std::string writtenHistory() {
    std::string path = dir_.file("history.db");
    ServerProcess server(sqliteArgs(path));
    EXPECT_TRUE(server.ready());
    publish(server.port(), "c", "kept");
    EXPECT_EQ(server.stop(SIGTERM), 0);
    return path;
  }
  TempDir dir_{"rtdemo-sqlite-it"};
};

TEST_F(SqliteStartTest, MissingDirectory) {
  expectRefused(dir_.file("missing/history.db"), "does not exist");
}

TEST_F(SqliteStartTest, UnwritableDirectory) {
  std::string ro = dir_.mountTmpfs("ro", 65536, /*readOnly=*/true);
  expectRefused(ro + "/history.db", "not writable");
}

TEST_F(SqliteStartTest, NotADatabase) {
  std::string path = dir_.file("history.db");
  std::string text(5000, 'z');
  { std::ofstream(path, std::ios::binary) << text; }
  expectRefused(path, "not a SQLite database");
  EXPECT_EQ(slurp(path), text);
}

TEST_F(SqliteStartTest, CorruptDatabase) {
  std::string path = dir_.file("history.db");
  {
    ServerProcess server(sqliteArgs(path));
    ASSERT_TRUE(server.ready());
    for (int i = 0; i < 200; ++i)
      publish(server.port(), "c" + std::to_string(i % 5), std::string(400, 'a'));
    EXPECT_EQ(server.stop(SIGTERM), 0);
  }
  std::string bytes = slurp(path);
  ASSERT_GT(bytes.size(), 6 * 4096u);
  for (size_t i = 4096; i < 5 * 4096; ++i) bytes[i] = static_cast<char>(i * 13);
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }
  expectRefused(path, "corrupt");
  EXPECT_EQ(slurp(path), bytes);
}

TEST_F(SqliteStartTest, LockedByAnotherServer) {
  std::string path = dir_.file("history.db");
  ServerProcess owner(sqliteArgs(path));
  ASSERT_TRUE(owner.ready());
  std::string id = publish(owner.port(), "c", "mine");
  expectRefused(path, "locked by another process",
                {"-D", "rtdemo.sqlite.busy-timeout.ms=300"});
  // The owner keeps serving.
  PollAnswer a = poll(owner.port(), "c", MessageId::start(epochOf(id)).toString());
  ASSERT_EQ(a.messages.size(), 1u);
  EXPECT_EQ(a.messages[0].id, id);
}

TEST_F(SqliteStartTest, NewerSchema) {
  std::string path = writtenHistory();
  {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::Session s("SQLite", path, 0);
    s << "PRAGMA user_version = 9", Poco::Data::Keywords::now;
  }
  std::string before = slurp(path);
  expectRefused(path, "schema version 9");
  EXPECT_EQ(slurp(path), before);
}

}  // namespace
}  // namespace rtdemo
