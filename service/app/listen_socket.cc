// Implementation of listen_socket.h.
#include "service/app/listen_socket.h"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "Poco/Net/ServerSocketImpl.h"
#include "Poco/Net/SocketAddress.h"

namespace rtdemo {
namespace {

constexpr const char* kStoreName = "listen";

// A ServerSocketImpl that takes over a descriptor already listening.
class AdoptedSocketImpl : public Poco::Net::ServerSocketImpl {
 public:
  explicit AdoptedSocketImpl(int fd) { reset(fd); }
};

// ServerSocket's constructor from an impl is protected.
class AdoptedSocket : public Poco::Net::ServerSocket {
 public:
  explicit AdoptedSocket(int fd) : ServerSocket(new AdoptedSocketImpl(fd), true) {}
};

// Whether fd listens (TCP) on bind:port, or on bind:any when port is 0.
bool listensOn(int fd, const std::string& bind, int port) {
  if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) return false;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  try {
    Poco::Net::SocketAddress have(reinterpret_cast<sockaddr*>(&ss), len);
    Poco::Net::SocketAddress want(bind, static_cast<Poco::UInt16>(port));
    return have.host() == want.host() && (port == 0 || have.port() == want.port());
  } catch (const Poco::Exception&) {
    return false;
  }
}

}  // namespace

Listener openListener(const std::string& bind, int port, int backlog, bool reusePort) {
  Listener out;
  char** names = nullptr;
  // unset_environment=1: nothing after this may take the descriptors again.
  int n = sd_listen_fds_with_names(1, &names);
  bool adopted = false;
  for (int i = 0; i < n; ++i) {
    int fd = SD_LISTEN_FDS_START + i;
    bool ours = names != nullptr && names[i] != nullptr && std::strcmp(names[i], kStoreName) == 0;
    if (ours && !adopted && listensOn(fd, bind, port)) {
      out.socket = AdoptedSocket(fd);
      out.fromStore = adopted = true;
      continue;
    }
    // Another address than the configured one (or not ours at all).
    if (ours) sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=listen");
    ::close(fd);
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  if (adopted) return out;
  out.socket.bind(Poco::Net::SocketAddress(bind, static_cast<Poco::UInt16>(port)), true, reusePort);
  out.socket.listen(backlog);
  return out;
}

bool storeListener(const Poco::Net::ServerSocket& socket, std::string* error) {
  if (std::getenv("NOTIFY_SOCKET") == nullptr) return true;
  int fd = socket.impl()->sockfd();
  int rc = sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=listen", &fd, 1);
  if (rc < 0) {
    *error = std::strerror(-rc);
    return false;
  }
  return true;
}

void releaseListener(const Poco::Net::ServerSocket& socket) {
  int fd = socket.impl()->sockfd();
  if (fd < 0) return;
  // One end of a socket pair never becomes readable while the other end is
  // open: the accept thread's poll sees nothing and it ends at its next
  // turn. The other end stays open (it is closed at exit).
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
  if (::dup2(pair[0], fd) < 0) {
    ::close(pair[0]);
    ::close(pair[1]);
    return;
  }
  ::close(pair[0]);
}

}  // namespace rtdemo
