// listen_socket.h without systemd: openListener() binds as rtdemo always
// did, and releaseListener() stops this process from accepting while a
// socket another holder keeps (systemd's fd store, played here by a dup)
// goes on listening and queuing connections.
#include "service/app/listen_socket.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace rtdemo {
namespace {

// connect() to 127.0.0.1:port; returns 0 or the errno.
int connectTo(int port, int* fdOut) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : errno;
  *fdOut = fd;
  return rc;
}

TEST(ListenSocket, WithoutSystemdBindsTheConfiguredAddress) {
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_PID");
  Listener l = openListener("127.0.0.1", 0, 16);
  EXPECT_FALSE(l.fromStore);
  EXPECT_EQ(l.socket.address().host().toString(), "127.0.0.1");
  int port = l.socket.address().port();
  ASSERT_GT(port, 0);
  int c = -1;
  EXPECT_EQ(connectTo(port, &c), 0);
  ::close(c);
}

TEST(ListenSocket, ReleasedWhileStoredElsewhereTheSocketQueuesForTheNextHolder) {
  Listener l = openListener("127.0.0.1", 0, 16);
  int port = l.socket.address().port();
  int fd = l.socket.impl()->sockfd();
  int stored = ::dup(fd);  // systemd's copy
  releaseListener(l.socket);

  int c = -1;
  ASSERT_EQ(connectTo(port, &c), 0) << "a client connecting now is not refused";
  pollfd here{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&here, 1, 100), 0) << "nothing to accept on this process's descriptor";
  int next = ::accept(stored, nullptr, nullptr);
  EXPECT_GE(next, 0) << "the next holder accepts it";
  ::close(next);
  ::close(c);
  ::close(stored);
}

TEST(ListenSocket, ReleasedAndHeldByNobodyThePortCloses) {
  Listener l = openListener("127.0.0.1", 0, 16);
  int port = l.socket.address().port();
  releaseListener(l.socket);
  int c = -1;
  EXPECT_EQ(connectTo(port, &c), ECONNREFUSED);
  ::close(c);
}

}  // namespace
}  // namespace rtdemo
