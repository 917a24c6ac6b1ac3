// The Durable Streams side of --mode ds (see ds_stream.h).
#include "ds_stream.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "json_field.h"
#include "net_util.h"

namespace bench {

bool createStream(const sockaddr_in& dst, const std::string& name,
                  std::string* error) {
  int fd = startConnect(dst, 0, 1, 0);
  if (fd < 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  const std::string req = "PUT /v1/stream/" + urlEncode(name) +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: text/plain\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n";
  std::string head;
  size_t sent = 0;
  // The socket is non-blocking: wait for it with poll(), 10 s at most.
  while (head.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, static_cast<short>(sent < req.size() ? POLLOUT : POLLIN), 0};
    if (poll(&p, 1, 10000) <= 0) {
      *error = "no answer in 10 s";
      break;
    }
    if (sent < req.size()) {
      ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        *error = std::string("send: ") + std::strerror(errno);
        break;
      }
      continue;
    }
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      head.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      *error = "connection closed before the answer";
      break;
    }
  }
  close(fd);
  if (head.find("\r\n\r\n") == std::string::npos) return false;
  // "HTTP/1.1 201 Created"
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0 || head[9] != '2') {
    *error = "answered " + head.substr(0, head.find("\r\n"));
    return false;
  }
  return true;
}

std::string dsReadRequest(const std::string& name, const std::string& offset) {
  return "GET /v1/stream/" + urlEncode(name) + "?offset=" + urlEncode(offset) +
         "&live=sse HTTP/1.1\r\n";
}

bool controlNextOffset(const std::string& json, std::string* offset) {
  size_t at = findStringField(json, "streamNextOffset", 0);
  if (at == std::string::npos) return false;
  size_t end = 0;
  *offset = jsonString(json, at, &end);
  return !offset->empty();
}

}  // namespace bench
