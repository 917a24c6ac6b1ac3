// Session id generation (see session_id.h).
#include "service/security/session_id.h"

#include <atomic>
#include <cstdio>
#include <random>

namespace rtdemo {

std::string newSessionId() {
  static const uint32_t prefix = [] {
    std::random_device rd;
    return static_cast<uint32_t>(rd());
  }();
  static std::atomic<uint64_t> counter{0};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%llx", prefix,
                static_cast<unsigned long long>(++counter));
  return buf;
}

}  // namespace rtdemo
