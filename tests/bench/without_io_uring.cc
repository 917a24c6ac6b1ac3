// without_io_uring CMD [ARGS...]: runs CMD where io_uring_setup() fails with
// EPERM (tests/support/forbid_io_uring.h), so loadgen_check.sh can check
// what the load generator does where io_uring is forbidden.
#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tests/support/forbid_io_uring.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: without_io_uring CMD [ARGS...]\n");
    return 2;
  }
  std::string error;
  if (!rtdemo::forbidIoUring(&error)) {
    std::fprintf(stderr, "without_io_uring: %s\n", error.c_str());
    return 1;
  }
  ::execvp(argv[1], argv + 1);
  std::fprintf(stderr, "without_io_uring: %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
