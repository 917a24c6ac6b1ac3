// nameThread: gives a thread of rtdemo's own a name that `top -H`, `ps -T`
// and /proc/PID/task/*/comm show.
//
// Every long-lived thread rtdemo starts is named "rtdemo-<part>"; POCO's
// request pool threads keep the process name. So a tool (or a test that
// checks that nothing leaks threads) can tell rtdemo's fixed threads from
// the pool, which grows and shrinks with load.
#pragma once

#include <pthread.h>

#include <thread>

namespace rtdemo {

// `name`: at most 15 characters (the kernel's limit).
inline void nameThread(std::thread& thread, const char* name) {
  pthread_setname_np(thread.native_handle(), name);
}

}  // namespace rtdemo
