// freeze_thread: stops threads of a running process, and only those, for as
// long as it runs. The watchdog test uses it to wedge one hub event loop of
// the rtdemo that systemd runs while every other thread (the main thread,
// the watchdog thread that pings systemd, the HTTP pool) carries on: the
// honest version of "a loop stuck inside a handler", with no hook in rtdemo.
//
// It attaches to each thread with PTRACE_SEIZE and stops it with
// PTRACE_INTERRUPT (a ptrace stop, which other threads do not share, unlike
// SIGSTOP), prints "frozen TID" for each, then waits. SIGTERM or SIGINT
// detaches, and the threads run on; so does its own exit, since the kernel
// detaches a dead tracer's tracees. If the process dies meanwhile (systemd's
// watchdog kills it), it prints "gone TID" and exits 0.
// Usage: freeze_thread TID...   (host TIDs; needs CAP_SYS_PTRACE)
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace {

volatile sig_atomic_t stopRequested = 0;
void onSignal(int) { stopRequested = 1; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s TID...\n", argv[0]);
    return 2;
  }
  std::vector<pid_t> tids;
  for (int i = 1; i < argc; ++i) tids.push_back(static_cast<pid_t>(atoi(argv[i])));

  struct sigaction sa {};
  sa.sa_handler = onSignal;  // no SA_RESTART: the signal ends waitpid()
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  for (pid_t tid : tids) {
    if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0 ||
        ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
      fprintf(stderr, "freeze_thread: cannot stop %d: %s\n", tid, strerror(errno));
      return 1;
    }
    int status = 0;
    if (waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status)) {
      fprintf(stderr, "freeze_thread: %d did not stop\n", tid);
      return 1;
    }
    printf("frozen %d\n", tid);
  }
  fflush(stdout);

  size_t live = tids.size();
  while (!stopRequested && live > 0) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      printf("gone %d\n", tid);
      fflush(stdout);
      --live;
    }
    // Any other stop (a signal for the frozen thread) leaves it stopped. A
    // fatal signal to the process still ends it: the kernel kills every
    // thread, a traced one too.
  }
  for (pid_t tid : tids) ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
  return 0;
}
