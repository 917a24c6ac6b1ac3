// Implementation of SystemdNotifier and of rtdemo's liveness rule (see
// systemd_notifier.h).
#include "service/app/systemd_notifier.h"
#include "storage/thread_name.h"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstdlib>

#include "Poco/Logger.h"
#include "service/hub/hub.h"
#include "storage/broker.h"

namespace rtdemo {
namespace {

// Without a watchdog the thread still refreshes STATUS=, at this pace.
constexpr std::chrono::milliseconds kStatusOnlyInterval{5000};

// STATUS= is one line; a backend reason must not end it early or add fields.
std::string oneLine(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  enabled_ = getenv("NOTIFY_SOCKET") != nullptr;
  uint64_t usec = 0;
  // unset_environment=0: rtdemo starts no child that could inherit them, and
  // sd_notify() reads NOTIFY_SOCKET again on every call. This also checks
  // WATCHDOG_PID, so a watchdog meant for another process is ignored.
  if (sd_watchdog_enabled(0, &usec) > 0) watchdogUsec_ = usec;
}

SystemdNotifier::~SystemdNotifier() { stopWatchdog(); }

void SystemdNotifier::send(const std::string& state) {
  if (!enabled_) return;
  int rc = sd_notify(0, state.c_str());
  if (rc < 0)
    Poco::Logger::get("rtdemo").warning("sd_notify(%s) failed: error %d",
                                        state.substr(0, state.find('\n')), -rc);
}

void SystemdNotifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + oneLine(status));
}

void SystemdNotifier::status(const std::string& status) {
  send("STATUS=" + oneLine(status));
}

void SystemdNotifier::stopping(const std::string& status) {
  send("STOPPING=1\nSTATUS=" + oneLine(status));
}

void SystemdNotifier::startWatchdog(LivenessCheck check) {
  if (!enabled_ || thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, check = std::move(check)] { run(check); });
  nameThread(thread_, "rtdemo-watchdog");
}

void SystemdNotifier::stopWatchdog() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void SystemdNotifier::run(LivenessCheck check) {
  Poco::Logger& log = Poco::Logger::get("rtdemo");
  // Half the timeout, as sd_watchdog_enabled(3) advises: one late ping
  // (a slow health check, a busy core) must not cost a restart.
  const std::chrono::microseconds interval =
      watchdogUsec_ > 0 ? std::chrono::microseconds(watchdogUsec_ / 2)
                        : std::chrono::microseconds(kStatusOnlyInterval);
  std::string lastStatus;
  bool wasAlive = true;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    std::string status;
    bool alive = check(&status);
    std::string message;
    if (alive && watchdogUsec_ > 0) message = "WATCHDOG=1";
    if (status != lastStatus) {
      if (!message.empty()) message += "\n";
      message += "STATUS=" + oneLine(status);
      lastStatus = status;
    }
    if (!message.empty()) send(message);
    if (alive != wasAlive) {
      if (alive)
        log.notice("watchdog: alive again (%s); pinging systemd again", status);
      else
        log.critical("watchdog: %s; no longer pinging systemd, which will restart rtdemo "
                     "if this lasts past WatchdogSec",
                     status);
      wasAlive = alive;
    }
    lock.lock();
    wake_.wait_for(lock, interval, [this] { return stop_; });
  }
}

// What "alive" means for the watchdog, and why it is narrower than /healthz.
//
// The watchdog exists to restart a process that is wedged: restarting fixes a
// deadlock or a stuck event loop, and nothing else. So the pings stop when
//   - a hub event loop has not turned within loopWithinMs (the loops wake at
//     least once a second, so this is a loop stuck inside a handler), or
//   - Broker::health() does not return: the check runs on the watchdog thread,
//     so a backend stuck on a lock or a hung call blocks it and no ping goes
//     out until it returns.
// A health() that returns an error does NOT stop the pings. That is a
// dependency being down (Redis unreachable, a full disk for SQLite), which a
// restart cannot fix: it would only drop every open stream, and repeated
// restarts would hit systemd's start limit and leave the unit failed, still
// down after Redis came back. The Redis backend already reconnects with
// backoff by itself. Such outages show on /healthz (503), in STATUS= and in
// the logs, for a load balancer or a person to act on.
bool rtdemoAlive(const Hub& hub, Broker& broker, int64_t loopWithinMs,
                 std::string* status) {
  bool loops = hub.alive(loopWithinMs);
  Status health = broker.health();
  const HubStats& stats = hub.stats();
  std::string text;
  if (!loops)
    text = "an event loop has not turned for " + std::to_string(loopWithinMs / 1000) + " s";
  else if (health.ok())
    text = "serving";
  else
    text = "backend unavailable (" + health.toString() + ")";
  text += "; backend " + broker.name() + ", " +
          std::to_string(stats.streamsOpen.load(std::memory_order_relaxed)) +
          " streams, " + std::to_string(stats.pollsHeld.load(std::memory_order_relaxed)) +
          " held polls";
  *status = text;
  return loops;
}

}  // namespace rtdemo
