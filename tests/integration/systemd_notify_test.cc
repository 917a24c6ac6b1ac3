// systemd's readiness protocol, spoken by the real build/rtdemo: the test
// plays the service manager. It binds an AF_UNIX datagram socket, starts
// rtdemo with NOTIFY_SOCKET (and WATCHDOG_USEC) pointing at it, as systemd
// does for a Type=notify unit, and checks what arrives and when: READY=1 only
// once the port accepts, WATCHDOG=1 again and again, STOPPING=1 on SIGTERM.
//
// The last cases drive SystemdNotifier in-process, to show that the pings
// follow the liveness check rather than merely a timer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "service/app/systemd_notifier.h"
#include "service/hub/hub.h"
#include "storage/broker.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// One notification datagram as received, split into its KEY=VALUE lines.
struct Notification {
  std::vector<std::string> lines;
  bool has(const std::string& line) const {
    for (const auto& l : lines)
      if (l == line) return true;
    return false;
  }
  std::string value(const std::string& key) const {
    for (const auto& l : lines)
      if (l.rfind(key + "=", 0) == 0) return l.substr(key.size() + 1);
    return "";
  }
};

// The service manager's end: a datagram socket and a thread that records
// every notification. When READY=1 arrives it probes the port its STATUS
// names ("serving on port N") at once, so the test knows whether the port
// accepted at that moment; the test checks that it is the server's port.
class NotifySocket {
 public:
  NotifySocket() {
    char dir[] = "/tmp/rtdemo-notify-XXXXXX";
    dir_ = ::mkdtemp(dir);
    path_ = dir_ + "/notify.sock";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      ADD_FAILURE() << "cannot bind " << path_;
    reader_ = std::thread([this] { read(); });
  }
  ~NotifySocket() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  const std::string& path() const { return path_; }

  std::vector<Notification> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t count(const std::string& line) const {
    size_t n = 0;
    for (const auto& m : received())
      if (m.has(line)) ++n;
    return n;
  }
  // Index of the first notification holding `line`, or -1.
  int indexOf(const std::string& line) const {
    auto all = received();
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].has(line)) return static_cast<int>(i);
    return -1;
  }
  bool portAcceptedAtReady() const { return acceptedAtReady_; }

 private:
  void read() {
    char buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      Notification note;
      std::string text(buf, static_cast<size_t>(n));
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) note.lines.push_back(text.substr(start, end - start));
        start = end + 1;
      }
      // Probe before recording, so a test that saw READY also sees the probe.
      if (note.has("READY=1")) {
        const std::string prefix = "serving on port ";
        std::string status = note.value("STATUS");
        if (status.rfind(prefix, 0) == 0)
          acceptedAtReady_ = portAccepts(std::atoi(status.c_str() + prefix.size()));
      }
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(std::move(note));
    }
  }

  std::string dir_;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> acceptedAtReady_{false};
  std::thread reader_;
  mutable std::mutex mu_;
  std::vector<Notification> received_;  // guarded by mu_
};

// Sets environment variables for the processes started in its scope (the
// fixture spawns with this process's environment), and restores them.
class ScopedEnv {
 public:
  void set(const std::string& name, const std::string& value) {
    names_.push_back(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& n : names_) ::unsetenv(n.c_str());
  }

 private:
  std::vector<std::string> names_;
};

TEST(SystemdNotifyTest, ReadyAfterListeningWatchdogWhileRunningStoppingOnSigterm) {
  NotifySocket manager;
  std::unique_ptr<ServerProcess> server;
  {
    ScopedEnv env;
    env.set("NOTIFY_SOCKET", manager.path());
    env.set("WATCHDOG_USEC", "300000");  // a ping every 150 ms
    server = std::make_unique<ServerProcess>(std::vector<std::string>{"--backend", "memory"});
  }
  ASSERT_TRUE(server->ready());

  ASSERT_TRUE(waitUntil([&] { return manager.indexOf("READY=1") >= 0; }))
      << "no READY=1 from rtdemo";
  EXPECT_EQ(manager.indexOf("READY=1"), 0) << "READY=1 must be the first notification";
  EXPECT_TRUE(manager.portAcceptedAtReady())
      << "READY=1 arrived before the port accepted connections";
  EXPECT_EQ(manager.count("READY=1"), 1u);
  auto first = manager.received().front();
  EXPECT_NE(first.value("STATUS").find("serving on port " + std::to_string(server->port())),
            std::string::npos)
      << first.value("STATUS");

  // The watchdog keeps pinging while the service runs and serves.
  ASSERT_TRUE(waitUntil([&] { return manager.count("WATCHDOG=1") >= 3; }))
      << "WATCHDOG=1 did not keep arriving";
  EXPECT_EQ(httpGet(server->port(), "/healthz").status, 200);
  size_t before = manager.count("WATCHDOG=1");
  ASSERT_TRUE(waitUntil([&] { return manager.count("WATCHDOG=1") >= before + 3; }));
  EXPECT_GT(manager.indexOf("WATCHDOG=1"), manager.indexOf("READY=1"));

  EXPECT_EQ(server->stop(SIGTERM), 0);
  ASSERT_TRUE(waitUntil([&] { return manager.indexOf("STOPPING=1") >= 0; }))
      << "no STOPPING=1 on SIGTERM";
  // The watchdog ends before STOPPING=1: nothing pings a stopping service.
  auto all = manager.received();
  for (size_t i = static_cast<size_t>(manager.indexOf("STOPPING=1")) + 1; i < all.size(); ++i)
    EXPECT_FALSE(all[i].has("WATCHDOG=1"));
  EXPECT_EQ(manager.count("STOPPING=1"), 1u);
}

TEST(SystemdNotifyTest, NoWatchdogPingsWithoutWatchdogUsec) {
  NotifySocket manager;
  std::unique_ptr<ServerProcess> server;
  {
    ScopedEnv env;
    env.set("NOTIFY_SOCKET", manager.path());
    server = std::make_unique<ServerProcess>(std::vector<std::string>{"--backend", "memory"});
  }
  ASSERT_TRUE(server->ready());
  ASSERT_TRUE(waitUntil([&] { return manager.indexOf("READY=1") >= 0; }));
  EXPECT_TRUE(manager.portAcceptedAtReady());
  EXPECT_EQ(server->stop(SIGTERM), 0);
  // STOPPING=1 is the last thing sent; by then any ping would have come.
  ASSERT_TRUE(waitUntil([&] { return manager.indexOf("STOPPING=1") >= 0; }));
  EXPECT_EQ(manager.count("WATCHDOG=1"), 0u);
}

TEST(SystemdNotifyTest, FailedStartSaysWhyInStatusAndNeverReady) {
  NotifySocket manager;
  ServerProcess::Exit exit;
  {
    ScopedEnv env;
    env.set("NOTIFY_SOCKET", manager.path());
    exit = ServerProcess::runToExit({"--backend", "nonsense"});
  }
  EXPECT_NE(exit.code, 0);
  ASSERT_TRUE(waitUntil([&] { return !manager.received().empty(); }));
  EXPECT_EQ(manager.count("READY=1"), 0u);
  EXPECT_NE(manager.received().front().value("STATUS").find("failed to start"),
            std::string::npos);
}

// In-process: the pings follow the liveness check. A check that reports
// "not alive" with a fresh status each time makes the notifier send STATUS=
// lines without WATCHDOG=1, so the test waits for those rather than for time.
TEST(SystemdNotifierTest, PingsOnlyWhileTheCheckPasses) {
  NotifySocket manager;
  ScopedEnv env;
  env.set("NOTIFY_SOCKET", manager.path());
  env.set("WATCHDOG_USEC", "100000");
  SystemdNotifier notifier;
  ASSERT_TRUE(notifier.enabled());
  ASSERT_EQ(notifier.watchdogUsec(), 100000u);

  std::atomic<bool> alive{true};
  std::atomic<int> calls{0};
  notifier.startWatchdog([&](std::string* status) {
    *status = "tick " + std::to_string(calls++);
    return alive.load();
  });
  ASSERT_TRUE(waitUntil([&] { return manager.count("WATCHDOG=1") >= 2; }));

  alive = false;
  // Every notification sent after the first one that saw alive == false.
  ASSERT_TRUE(waitUntil([&] {
    auto all = manager.received();
    size_t deadTicks = 0;
    for (const auto& n : all)
      if (!n.has("WATCHDOG=1")) ++deadTicks;
    return deadTicks >= 4;
  }));
  auto all = manager.received();
  size_t firstDead = 0;
  while (firstDead < all.size() && all[firstDead].has("WATCHDOG=1")) ++firstDead;
  for (size_t i = firstDead; i < all.size(); ++i)
    EXPECT_FALSE(all[i].has("WATCHDOG=1")) << "a ping while the check failed";

  alive = true;
  size_t pings = manager.count("WATCHDOG=1");
  ASSERT_TRUE(waitUntil([&] { return manager.count("WATCHDOG=1") >= pings + 2; }))
      << "pings did not resume once alive again";
  notifier.stopWatchdog();
}

// rtdemo's rule: a stuck event loop stops the pings; a backend that answers
// "unavailable" (Redis away) does not, since a restart cannot fix it.
class DownBroker : public Broker {
 public:
  std::string name() const override { return "down"; }
  std::string epoch() const override { return "1"; }
  Status publish(const std::string&, const std::string&, const std::string&,
                 MessagePtr*) override {
    return Status::Unavailable("down");
  }
  Status readAfter(const std::string&, const std::string&, size_t, HistoryRead*) override {
    return Status::Unavailable("down");
  }
  Status lastId(const std::string&, std::string*) override { return Status::Unavailable("down"); }
  std::unique_ptr<Subscription> subscribe(const std::string&, LiveCallback) override {
    return nullptr;
  }
  Status health() override { return Status::Unavailable("redis at 127.0.0.1:1 is unreachable"); }
};

TEST(SystemdNotifierTest, LivenessRuleIgnoresBackendOutagesButNotStuckLoops) {
  DownBroker broker;
  HubOptions options;
  options.loops = 1;
  Hub hub(&broker, options);
  std::string status;

  // Never started: its loop has not turned since construction.
  ASSERT_TRUE(waitUntil([&] { return !rtdemoAlive(hub, broker, 50, &status); }));
  EXPECT_NE(status.find("event loop"), std::string::npos) << status;

  hub.start();
  ASSERT_TRUE(waitUntil([&] { return rtdemoAlive(hub, broker, 2000, &status); }));
  EXPECT_NE(status.find("backend unavailable"), std::string::npos) << status;
  EXPECT_NE(status.find("unreachable"), std::string::npos) << status;
  hub.stop();
}

}  // namespace
}  // namespace rtdemo
