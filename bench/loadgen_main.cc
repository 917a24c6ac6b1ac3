// Entry point of rtdemo_loadgen, the benchmark client of issue 5: one
// process, one epoll loop, many subscribers. See bench/README.md for the
// scenarios and bench/run.sh for how they are composed.
#include <csignal>

#include "load_run.h"
#include "options.h"

int main(int argc, char** argv) {
  bench::Options options;
  int exit_code = 0;
  if (!bench::parseOptions(argc, argv, &options, &exit_code)) return exit_code;
  // Writes use MSG_NOSIGNAL, but be safe against any path that does not.
  std::signal(SIGPIPE, SIG_IGN);
  bench::LoadRun run(options);
  return run.run();
}
