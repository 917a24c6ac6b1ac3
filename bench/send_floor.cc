// send_floor: what fan-out costs on this machine with no server at all.
//
// Issue 5 asks for 19,000 subscribers at p99 <= 150 ms on 2 cores, with the
// load generator on the same cores. This program measures the floor under
// any server: one process holds N accepted loopback TCP sockets and writes a
// 100-byte record to each of them per message, from T threads (as rtdemo's
// hub loops do), with no HTTP, no bookkeeping and no allocation on the way;
// a second process holds the client ends and reads them with one epoll
// thread (as the load generator does). Both print what they measured: the
// delivery latency percentiles and the sender's CPU per send(). A server
// cannot fan out faster than this on the same machine; rtdemo's figures in
// docs/performance.md are read against it.
//
//   send_floor [--subs N] [--messages M] [--rate R] [--senders T] [--io-uring 0|1]
//              [--recv io-uring|syscall]
//
// --io-uring 1 makes each sender submit its sends for one message in
// batches of 512 through io_uring (as rtdemo's hub loops do by default, see
// service/hub/batch_sender.h) instead of one send() system call each.
// --recv is the reader's --recv, as in the load generator: io_uring batches
// (the default, bench/batch_receiver.h) or one recvmsg() per socket.
//
// Two processes because the open-file limit (20,000) is per process and the
// two ends of 19,000 connections need 38,000 descriptors.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <liburing.h>

#include "batch_receiver.h"
#include "net_util.h"

namespace {

constexpr size_t kRecord = 100;  // about an SSE event with a 64-byte payload

using bench::nowNs;

double cpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

struct Options {
  int subs = 19000;
  int messages = 50;
  double rate = 5;
  int senders = 2;
  bool ioUring = false;
  bool recvBatches = true;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--subs") o.subs = std::atoi(argv[i + 1]);
    else if (k == "--messages") o.messages = std::atoi(argv[i + 1]);
    else if (k == "--rate") o.rate = std::atof(argv[i + 1]);
    else if (k == "--senders") o.senders = std::atoi(argv[i + 1]);
    else if (k == "--io-uring") o.ioUring = std::atoi(argv[i + 1]) != 0;
    else if (k == "--recv") {
      std::string v = argv[i + 1];
      if (v != "io-uring" && v != "syscall") {
        std::fprintf(stderr, "send_floor: --recv must be io-uring or syscall, not %s\n",
                     v.c_str());
        std::exit(2);
      }
      o.recvBatches = v == "io-uring";
    }
    else {
      std::fprintf(stderr, "send_floor: unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (o.subs <= 0 || o.messages <= 0 || o.rate <= 0 || o.senders <= 0) {
    std::fprintf(stderr, "send_floor: every option must be positive\n");
    std::exit(2);
  }
  return o;
}

// The reading end: connects, then reads records and reports latency.
int runReader(const Options& o, uint16_t port, int readyPipe) {
  // Spread over source addresses, as the load generator does, so 19,000
  // connections never run short of ephemeral ports.
  std::vector<int> fds;
  fds.reserve(o.subs);
  for (int i = 0; i < o.subs; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000001 + 1 + i % 32);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) die("bind");
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    dst.sin_addr.s_addr = htonl(0x7f000001);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) die("connect");
    bench::enableRxTimestamps(fd);
    fds.push_back(fd);
  }
  int ep = ::epoll_create1(0);
  for (size_t i = 0; i < fds.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  char one = 1;
  if (::write(readyPipe, &one, 1) != 1) die("write");

  const size_t expected = size_t(o.subs) * o.messages;
  std::vector<int64_t> latencies;  // sent -> read, as the loadgen's "latency"
  std::vector<int64_t> arrivals;   // sent -> in the socket, its "arrival"
  latencies.reserve(expected);
  arrivals.reserve(expected);
  std::vector<std::string> partial(fds.size());
  // What one receive on socket i brought: whole records are counted, a
  // partial one waits for the rest.
  auto onReceived = [&](size_t i, const char* data, ssize_t got,
                        const bench::Received& when) {
    if (got <= 0) return;
    std::string& p = partial[i];
    p.append(data, static_cast<size_t>(got));
    size_t whole = p.size() / kRecord;
    for (size_t r = 0; r < whole; ++r) {
      int64_t sent;
      std::memcpy(&sent, p.data() + r * kRecord, sizeof sent);
      latencies.push_back(when.read_ns - sent);
      if (when.arrived_ns != 0) arrivals.push_back(when.arrived_ns - sent);
    }
    p.erase(0, whole * kRecord);
  };
  // Receive as the load generator does (see bench/batch_receiver.h), in
  // batches of the same size.
  std::string error;
  std::unique_ptr<bench::BatchReceiver> batch = bench::BatchReceiver::create(
      bench::BatchReceiver::kSlots, 4096, o.recvBatches, &error);
  if (!batch) {
    std::fprintf(stderr, "send_floor: --recv io-uring: %s\n", error.c_str());
    return 1;
  }
  auto receiveBatch = [&] {
    batch->receiveAll([&](void* tag, const char* data, ssize_t got,
                          const bench::Received& when) {
      onReceived(reinterpret_cast<uintptr_t>(tag), data, got, when);
    });
  };
  std::vector<epoll_event> events(1024);
  while (latencies.size() < expected) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10000);
    if (n == 0) break;  // the sender is gone
    for (int e = 0; e < n; ++e) {
      uint32_t i = events[e].data.u32;
      if (batch->full()) receiveBatch();
      batch->add(fds[i], reinterpret_cast<void*>(uintptr_t{i}));
    }
    receiveBatch();
  }
  std::sort(latencies.begin(), latencies.end());
  std::sort(arrivals.begin(), arrivals.end());
  auto pct = [](const std::vector<int64_t>& v, double q) {
    if (v.empty()) return 0.0;
    size_t k = std::min(v.size() - 1, size_t(q * v.size()));
    return v[k] / 1e6;
  };
  std::printf("floor reader (%s): delivered %zu/%zu, latency p50 %.1f ms, p90 %.1f ms, "
              "p99 %.1f ms, max %.1f ms; arrival (%zu stamped) p50 %.1f ms, "
              "p99 %.1f ms, max %.1f ms; reader CPU %.2f s\n",
              o.recvBatches ? "--recv io-uring" : "--recv syscall",
              latencies.size(), expected, pct(latencies, 0.5),
              pct(latencies, 0.9), pct(latencies, 0.99), pct(latencies, 1.0),
              arrivals.size(), pct(arrivals, 0.5), pct(arrivals, 0.99), pct(arrivals, 1.0),
              cpuSeconds());
  return latencies.size() == expected ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(0x7f000001);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (::listen(listener, 4096) != 0) die("listen");
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);

  int ready[2];
  if (::pipe(ready) != 0) die("pipe");
  pid_t child = ::fork();
  if (child == 0) {
    ::close(listener);
    std::exit(runReader(o, port, ready[1]));
  }

  // The sending end: a server reduced to its send() calls.
  std::vector<int> conns;
  conns.reserve(o.subs);
  while (static_cast<int>(conns.size()) < o.subs) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) die("accept");
    int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    conns.push_back(fd);
  }
  char one;
  if (::read(ready[0], &one, 1) != 1) die("reader did not get ready");
  ::usleep(500000);

  std::atomic<long> failed{0};
  const double cpu0 = cpuSeconds();
  const int64_t start = nowNs() + 100000000;
  const int64_t interval = static_cast<int64_t>(1e9 / o.rate);
  std::vector<std::thread> senders;
  for (int t = 0; t < o.senders; ++t) {
    senders.emplace_back([&, t] {
      constexpr unsigned kBatch = 512;
      io_uring ring;
      if (o.ioUring) {
        int r = io_uring_queue_init(kBatch, &ring, 0);
        if (r < 0) {
          std::fprintf(stderr, "send_floor: io_uring: %s\n", std::strerror(-r));
          std::exit(1);
        }
      }
      char record[kRecord];
      std::memset(record, 'x', sizeof record);
      for (int m = 0; m < o.messages; ++m) {
        const int64_t due = start + m * interval;
        timespec ts{static_cast<time_t>(due / 1000000000), static_cast<long>(due % 1000000000)};
        while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
        }
        const int64_t t0 = nowNs();
        std::memcpy(record, &t0, sizeof t0);
        if (!o.ioUring) {
          for (size_t i = t; i < conns.size(); i += o.senders) {
            if (::send(conns[i], record, sizeof record, MSG_NOSIGNAL | MSG_DONTWAIT) !=
                static_cast<ssize_t>(sizeof record))
              failed++;
          }
          continue;
        }
        for (size_t i = t; i < conns.size();) {
          unsigned queued = 0;
          for (; i < conns.size() && queued < kBatch; i += o.senders, ++queued) {
            io_uring_prep_send(io_uring_get_sqe(&ring), conns[i], record, sizeof record,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
          }
          io_uring_submit_and_wait(&ring, queued);
          io_uring_cqe* cqe;
          unsigned head, seen = 0;
          io_uring_for_each_cqe(&ring, head, cqe) {
            if (cqe->res != static_cast<int>(sizeof record)) failed++;
            ++seen;
          }
          io_uring_cq_advance(&ring, seen);
        }
      }
      if (o.ioUring) io_uring_queue_exit(&ring);
    });
  }
  for (auto& s : senders) s.join();
  const double cpu = cpuSeconds() - cpu0;
  const double sends = double(o.subs) * o.messages;
  std::printf("floor sender (%s): %d threads, %.0f sends (%ld short or failed), "
              "CPU %.2f s = %.2f us per send\n",
              o.ioUring ? "io_uring" : "send()", o.senders, sends, failed.load(), cpu,
              cpu / sends * 1e6);
  std::fflush(stdout);
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
