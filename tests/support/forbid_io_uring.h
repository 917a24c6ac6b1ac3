// Makes io_uring_setup() fail with EPERM in the calling process and every
// process it starts, as Docker's default seccomp profile and systemd's
// @system-service filter do. Tests use it to check what rtdemo and the load
// generator do where io_uring is forbidden, without changing the machine
// for anyone else. A seccomp filter cannot be removed once installed.
#pragma once

#include <string>

namespace rtdemo {

// True once the filter is installed; otherwise false with *error naming the
// step that failed.
bool forbidIoUring(std::string* error);

}  // namespace rtdemo
