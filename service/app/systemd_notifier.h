// SystemdNotifier: rtdemo's side of systemd's readiness protocol (Type=notify).
//
// Under systemd, the service manager sets NOTIFY_SOCKET (and WATCHDOG_USEC
// when the unit has WatchdogSec=). rtdemo then says READY=1 once it listens
// and its backend is open, STATUS= lines that `systemctl status` shows, and
// STOPPING=1 when it begins to shut down. All of it goes through libsystemd's
// sd_notify(); outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op,
// so the same binary runs from a shell unchanged.
//
// The watchdog thread pings WATCHDOG=1 every WATCHDOG_USEC/2, but only while
// the liveness check it was given passes; when rtdemo wedges, the pings stop
// and systemd kills and restarts it (Restart=on-failure). What "alive" means
// for rtdemo is decided by rtdemoAlive() below.
//
// Threading: every method may be called from any thread. Whatever the check
// given to startWatchdog() uses must stay valid until stopWatchdog() (or the
// destructor) returns: that joins the thread that runs it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace rtdemo {

class Broker;
class Hub;

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC (and WATCHDOG_PID) once.
  SystemdNotifier();
  ~SystemdNotifier();  // stops the watchdog thread

  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // True when a service manager listens (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }
  // The watchdog interval systemd asked for, in microseconds; 0 when off.
  uint64_t watchdogUsec() const { return watchdogUsec_; }

  void ready(const std::string& status);
  void status(const std::string& status);
  void stopping(const std::string& status);

  // Returns true while the service is alive, and sets *status to the
  // STATUS= text to show (sent only when it changes). Runs on the watchdog
  // thread; if it blocks, the pings stop, which is the point.
  using LivenessCheck = std::function<bool(std::string* status)>;
  // Starts a thread only if NOTIFY_SOCKET is set. It checks every
  // WATCHDOG_USEC/2 (every 5 s without a watchdog, for STATUS= alone) and
  // pings WATCHDOG=1 only if WATCHDOG_USEC is set and the check passed.
  void startWatchdog(LivenessCheck check);
  void stopWatchdog();

 private:
  void run(LivenessCheck check);
  void send(const std::string& state);

  // Constant after construction.
  bool enabled_ = false;
  uint64_t watchdogUsec_ = 0;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  // Guarded by mu_.
  bool stop_ = false;
};

// The liveness rule the watchdog applies to rtdemo (see the .cc for why):
// alive while every hub loop has turned within `loopWithinMs` and
// Broker::health() returns, whatever Status it returns. *status says what
// `systemctl status` should show: the backend's state and the open streams.
bool rtdemoAlive(const Hub& hub, Broker& broker, int64_t loopWithinMs,
                 std::string* status);

}  // namespace rtdemo
