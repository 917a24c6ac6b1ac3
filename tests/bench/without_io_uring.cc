// without_io_uring CMD [ARGS...]: runs CMD where io_uring_setup() fails with
// EPERM, as under Docker's default seccomp profile or systemd's
// @system-service filter, so a test can check what a program does when
// io_uring is forbidden without changing the machine for anyone else.
#include <errno.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: without_io_uring CMD [ARGS...]\n");
    return 2;
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    std::perror("without_io_uring: prctl(PR_SET_NO_NEW_PRIVS)");
    return 1;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr ||
      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0) != 0 ||
      seccomp_load(ctx) != 0) {
    std::fprintf(stderr, "without_io_uring: cannot install the seccomp filter\n");
    return 1;
  }
  seccomp_release(ctx);
  ::execvp(argv[1], argv + 1);
  std::fprintf(stderr, "without_io_uring: %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
