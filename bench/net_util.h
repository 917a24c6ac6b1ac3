// Socket and process helpers for the load generator: non-blocking connects
// spread over several loopback source addresses, the fd limit, clocks and the
// server's RSS. Everything here is Linux-specific on purpose (epoll, /proc).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// Monotonic time in nanoseconds. The publisher stamps messages with it and
// subscribers in the same process subtract it, so no clock sync is involved.
int64_t nowNs();

// When the bytes of one read reached the client, on nowNs()'s clock.
//   arrived_ns  the kernel's receive timestamp (SO_TIMESTAMPNS) of the last
//               segment the read took: the moment the server's bytes were in
//               this socket. 0 if the kernel gave none.
//   read_ns     when the load generator had them in hand, after recv().
// The two differ by how long the one epoll thread took to reach this socket
// after the data arrived: with 1,000 sockets made readable by one message,
// the last is read several milliseconds after it arrived, a delay that a
// real subscriber, alone on its own machine, does not have.
struct Received {
  int64_t arrived_ns = 0;
  int64_t read_ns = 0;
};

// Turns on the kernel's receive timestamps for fd; startConnect() does this
// for every socket it makes. Costs the kernel one clock read per segment.
void enableRxTimestamps(int fd);

// recv() that also reports *when (see Received); arrived_ns needs
// enableRxTimestamps(fd). The kernel stamps in
// CLOCK_REALTIME; the difference to CLOCK_MONOTONIC is read once, so a step
// of the wall clock during a run would skew arrived_ns (LoadRun counts
// stamps that fall outside [publish, read] to catch that).
ssize_t recvStamped(int fd, char* buf, size_t len, Received* when);

// Room for the one control message recvStamped() asks the kernel for.
constexpr size_t kStampControlBytes = CMSG_SPACE(sizeof(timespec));

// Points msg at buf and at control (kStampControlBytes) for one stamped
// receive; iov is filled in and must outlive the receive.
void prepareStampedMsg(char* buf, size_t len, char* control, iovec* iov,
                       msghdr* msg);

// The kernel receive timestamp in msg after a stamped receive, on nowNs()'s
// clock; 0 if there is none.
int64_t arrivalFromMsg(msghdr* msg);

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft
// limit.
long raiseFdLimit();

// Fills *dst for host:port. REQUIRES: host already checked to be 127/8.
bool makeAddr(const std::string& host, uint16_t port, sockaddr_in* dst);

// Starts a non-blocking connect to dst from source address 127.0.0.(1 + k)
// with k = src_index % src_addrs, so that tens of thousands of connections
// never exhaust the ~28k ephemeral ports of one (source, destination) pair.
// rcvbuf > 0 sets SO_RCVBUF before connecting (it caps the advertised window).
// Returns the fd (connect in progress or done) or -1 with errno set.
int startConnect(const sockaddr_in& dst, uint32_t src_index, int src_addrs,
                 int rcvbuf);

// Returns the pending error of a connecting socket (0 once connected).
int socketError(int fd);

// Sum of VmRSS in kB over pids; -1 when none could be read.
long readRssKb(const std::vector<int>& pids);

// Sum of user + system CPU seconds over pids (from /proc/<pid>/stat); -1
// when none could be read. Shows whether a server is CPU-bound, and the
// loadgen's own share tells whether the client was the bottleneck.
double readCpuSeconds(const std::vector<int>& pids);
double selfCpuSeconds();

// application/x-www-form-urlencoded / query component encoding.
std::string urlEncode(const std::string& s);

}  // namespace bench
