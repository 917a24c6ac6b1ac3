// Socket and process helpers for the load generator (see net_util.h).
#include "net_util.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24  // linux/in.h; glibc's header lacks it
#endif

namespace bench {

int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

namespace {

// CLOCK_REALTIME - CLOCK_MONOTONIC, read once.
int64_t realtimeOffsetNs() {
  static const int64_t offset = [] {
    timespec real{}, mono{};
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    return (static_cast<int64_t>(real.tv_sec) - mono.tv_sec) * 1000000000LL +
           (real.tv_nsec - mono.tv_nsec);
  }();
  return offset;
}

}  // namespace

void enableRxTimestamps(int fd) {
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  realtimeOffsetNs();  // read the offset now, not in the middle of a fan-out
}

void prepareStampedMsg(char* buf, size_t len, char* control, iovec* iov,
                       msghdr* msg) {
  *iov = iovec{buf, len};
  *msg = msghdr{};
  msg->msg_iov = iov;
  msg->msg_iovlen = 1;
  msg->msg_control = control;
  msg->msg_controllen = kStampControlBytes;
}

int64_t arrivalFromMsg(msghdr* msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec -
             realtimeOffsetNs();
    }
  }
  return 0;
}

ssize_t recvStamped(int fd, char* buf, size_t len, Received* when) {
  iovec iov;
  alignas(cmsghdr) char control[kStampControlBytes];
  msghdr msg;
  prepareStampedMsg(buf, len, control, &iov, &msg);
  ssize_t n = recvmsg(fd, &msg, 0);
  when->read_ns = nowNs();
  when->arrived_ns = n > 0 ? arrivalFromMsg(&msg) : 0;
  return n;
}

long raiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<long>(rl.rlim_cur);
}

bool makeAddr(const std::string& host, uint16_t port, sockaddr_in* dst) {
  std::memset(dst, 0, sizeof(*dst));
  dst->sin_family = AF_INET;
  dst->sin_port = htons(port);
  return inet_pton(AF_INET, host.c_str(), &dst->sin_addr) == 1;
}

int startConnect(const sockaddr_in& dst, uint32_t src_index, int src_addrs,
                 int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  enableRxTimestamps(fd);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (src_addrs > 1) {
    // Without IP_BIND_ADDRESS_NO_PORT, bind() picks the port before the
    // destination is known and each source address would be limited to one
    // port range for all destinations together.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000001u + src_index % src_addrs);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof(dst)) != 0 &&
      errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int socketError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

long readRssKb(const std::vector<int>& pids) {
  long total = 0;
  bool any = false;
  for (int pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.compare(0, 6, "VmRSS:") == 0) {
        total += std::strtol(line.c_str() + 6, nullptr, 10);
        any = true;
        break;
      }
    }
  }
  return any ? total : -1;
}

double readCpuSeconds(const std::vector<int>& pids) {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  bool any = false;
  for (int pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    // The command name may hold spaces; fields are counted after its ')'.
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    const char* p = stat.c_str() + close + 1;
    // Fields 3..13 precede utime (14) and stime (15).
    for (int field = 3; field <= 13 && *p; ++field) {
      while (*p == ' ') ++p;
      while (*p && *p != ' ') ++p;
    }
    char* end = nullptr;
    unsigned long long utime = std::strtoull(p, &end, 10);
    unsigned long long stime = std::strtoull(end, nullptr, 10);
    total += (utime + stime) / tick;
    any = true;
  }
  return any ? total : -1;
}

double selfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

std::string urlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 16);
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace bench
