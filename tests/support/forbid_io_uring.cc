// The io_uring seccomp filter for tests (see forbid_io_uring.h), on
// libseccomp.
#include "tests/support/forbid_io_uring.h"

#include <errno.h>
#include <seccomp.h>
#include <sys/prctl.h>

#include <cstring>

namespace rtdemo {

bool forbidIoUring(std::string* error) {
  // Required for an unprivileged process to install a filter.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *error = std::string("prctl(PR_SET_NO_NEW_PRIVS): ") + std::strerror(errno);
    return false;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) {
    *error = "seccomp_init failed";
    return false;
  }
  int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0);
  if (r == 0) r = seccomp_load(ctx);
  seccomp_release(ctx);
  if (r != 0) {
    *error = std::string("cannot install the seccomp filter: ") + std::strerror(-r);
    return false;
  }
  return true;
}

}  // namespace rtdemo
