// SIGKILL under 64 asynchronous publishers on SQLite, synchronous=full:
// every message whose completion said OK is in the file when it is opened
// again. The publishers run in sqlite_crash_publisher (a process of its
// own, so the kill is real); it prints a line for each acknowledged message
// only after its completion, and the test kills it once it has read enough
// of them: it waits on that output, never on time.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "storage/sqlite_broker.h"
#include "tests/support/temp_dir.h"

namespace rtdemo {
namespace {

struct Acked {
  std::string channel;
  std::string data;
};

// Reads whole lines from `fd` into `lines` until `enough` returns true, the
// writer closes it, or `limit` passes. False only on the deadline.
template <typename Enough>
bool readLines(int fd, std::string* pending, std::vector<std::string>* lines, Enough enough,
               std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  while (!enough()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return true;  // closed: everything it wrote has been read
    pending->append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending->find('\n')) != std::string::npos) {
      lines->push_back(pending->substr(0, nl));
      pending->erase(0, nl + 1);
    }
  }
  return true;
}

TEST(SqliteCrash, EveryAcknowledgedPublishSurvivesSigkill) {
  TempDir dir("rtdemo-crash");
  const std::string db = dir.file("crash.db");
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(RTDEMO_CRASH_PUBLISHER, RTDEMO_CRASH_PUBLISHER, db.c_str(), (char*)nullptr);
    _exit(127);
  }
  ::close(out[1]);

  constexpr size_t kAcksBeforeKill = 3000;
  std::string pending;
  std::vector<std::string> lines;
  size_t acks = 0, scanned = 0;
  auto counted = [&] {
    for (; scanned < lines.size(); ++scanned) acks += lines[scanned].rfind("acked ", 0) == 0;
    return acks;
  };
  bool got = readLines(out[0], &pending, &lines, [&] { return counted() >= kAcksBeforeKill; },
                       std::chrono::seconds(120));
  ::kill(pid, SIGKILL);
  // What it wrote before it died is still in the pipe: those were acked too.
  readLines(out[0], &pending, &lines, [] { return false; }, std::chrono::seconds(30));
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(got) << "only " << acks << " acknowledgements before the deadline";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the publisher exited by itself, status " << status;
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "ready");

  // Ids are per channel: keyed by "<channel> <id>".
  std::map<std::string, Acked> acked;
  for (const std::string& line : lines) {
    if (line.rfind("acked ", 0) != 0) continue;
    std::istringstream in(line.substr(6));
    std::string id;
    Acked a;
    in >> id >> a.channel >> a.data;
    EXPECT_TRUE(acked.emplace(a.channel + " " + id, a).second)
        << "acknowledged twice: " << a.channel << " " << id;
  }
  ASSERT_GE(acked.size(), kAcksBeforeKill);

  BrokerConfig config;
  config.backend = "sqlite";
  config.sqlitePath = db;
  config.historySize = 10000000;
  config.historyMaxAgeSeconds = 0;
  config.historyMaxBytes = 1ull << 40;
  Status s;
  auto broker = openSqliteBroker(config, &s);
  ASSERT_NE(broker, nullptr) << s.toString();
  std::map<std::string, std::string> stored;  // "<channel> <id>" -> data
  for (int c = 0; c < 4; ++c) {
    const std::string channel = "crash" + std::to_string(c);
    HistoryRead h;
    ASSERT_TRUE(broker->readAfter(channel, "", 100000000, &h).ok());
    for (const MessagePtr& m : h.messages) stored[channel + " " + m->idText] = m->data;
  }
  size_t missing = 0;
  for (const auto& [id, a] : acked) {
    auto it = stored.find(id);
    if (it == stored.end()) {
      if (++missing <= 5) ADD_FAILURE() << "acknowledged, then lost: " << id << " " << a.data;
    } else {
      EXPECT_EQ(it->second, a.data) << id;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged";
  RecordProperty("acknowledged", static_cast<int>(acked.size()));
  RecordProperty("stored", static_cast<int>(stored.size()));
}

}  // namespace
}  // namespace rtdemo
