// fstat() identities of sockets (see socket_identity.h).
#include "service/security/socket_identity.h"

#include <sys/stat.h>

namespace rtdemo {

bool SocketIdentity::of(int fd, SocketIdentity* out) {
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  out->dev = st.st_dev;
  out->ino = st.st_ino;
  return true;
}

bool SocketIdentity::names(int fd) const {
  SocketIdentity now;
  return of(fd, &now) && now == *this;
}

}  // namespace rtdemo
