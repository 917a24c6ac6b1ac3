// Implementation of the test HTTP and SSE clients (see http_client.h).
// Raw sockets and poll(): the tests need to hold thousands of connections and
// to see exactly what went over the wire, which a full client would hide.
#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <gtest/gtest.h>

namespace rtdemo {
namespace {

using Clock = std::chrono::steady_clock;

int connectTo(int port) { return connectLoopback(port); }

}  // namespace

int connectLoopback(int port, int rcvbuf) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || selfConnected(fd)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool selfConnected(int fd) {
  sockaddr_in local{}, peer{};
  socklen_t a = sizeof local, b = sizeof peer;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &a) == 0 &&
         ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &b) == 0 &&
         local.sin_port == peer.sin_port && local.sin_addr.s_addr == peer.sin_addr.s_addr;
}

bool portAccepts(int port) {
  int fd = connectLoopback(port);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

namespace {

bool sendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads into `buf`; returns bytes read, 0 on close/error, -1 on timeout.
ssize_t readSome(int fd, std::string* buf, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left < 0) left = 0;
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(left));
  if (r <= 0) return -1;
  char tmp[65536];
  ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
  if (n <= 0) return 0;
  buf->append(tmp, static_cast<size_t>(n));
  return n;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Splits "HTTP/1.1 200 OK\r\nA: b\r\n..." into status and headers.
void parseHead(const std::string& head, int* status, std::map<std::string, std::string>* headers) {
  size_t eol = head.find("\r\n");
  std::string statusLine = head.substr(0, eol);
  size_t sp = statusLine.find(' ');
  *status = sp == std::string::npos ? 0 : std::atoi(statusLine.c_str() + sp + 1);
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      (*headers)[lower(line.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
}

std::string buildRequest(int port, const std::string& method, const std::string& target,
                         const std::string& body, const std::string& contentType,
                         const std::map<std::string, std::string>& headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  if (!contentType.empty()) req += "Content-Type: " + contentType + "\r\n";
  if (method == "POST" || method == "PUT" || !body.empty())
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (auto& h : headers) req += h.first + ": " + h.second + "\r\n";
  return req + "\r\n" + body;
}

}  // namespace

HttpResponse httpRequest(int port, const std::string& method, const std::string& target,
                         const std::string& body, const std::string& contentType,
                         const std::map<std::string, std::string>& headers,
                         std::chrono::milliseconds timeout) {
  HttpResponse res;
  int fd = connectTo(port);
  if (fd < 0) return res;
  auto deadline = Clock::now() + timeout;
  std::string buf;
  if (sendAll(fd, buildRequest(port, method, target, body, contentType, headers))) {
    // Connection: close, so the body ends at EOF unless Content-Length says.
    size_t headEnd = std::string::npos;
    for (;;) {
      if (headEnd == std::string::npos) {
        headEnd = buf.find("\r\n\r\n");
        if (headEnd != std::string::npos) parseHead(buf.substr(0, headEnd), &res.status, &res.headers);
      }
      if (headEnd != std::string::npos && !res.header("content-length").empty() &&
          buf.size() >= headEnd + 4 + std::stoul(res.header("content-length")))
        break;
      ssize_t n = readSome(fd, &buf, deadline);
      if (n == -1) {
        res.status = 0;  // timed out: no complete answer
        ::close(fd);
        return res;
      }
      if (n == 0) break;
    }
    if (headEnd != std::string::npos) {
      res.body = buf.substr(headEnd + 4);
      if (!res.header("content-length").empty())
        res.body.resize(std::min(res.body.size(), std::stoul(res.header("content-length"))));
    }
  }
  ::close(fd);
  return res;
}

HttpResponse readResponseOn(int fd, std::string* pending, std::chrono::milliseconds timeout,
                            bool* closed) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    size_t headEnd = pending->find("\r\n\r\n");
    if (headEnd != std::string::npos) {
      HttpResponse res;
      parseHead(pending->substr(0, headEnd), &res.status, &res.headers);
      std::string length = res.header("content-length");
      size_t len = length.empty() ? 0 : std::stoul(length);
      if (pending->size() >= headEnd + 4 + len) {
        res.body = pending->substr(headEnd + 4, len);
        pending->erase(0, headEnd + 4 + len);
        return res;
      }
    }
    ssize_t n = readSome(fd, pending, deadline);
    if (n == 0 && closed) *closed = true;
    if (n <= 0) return {};
  }
}

long long metric(int port, const std::string& sample) {
  HttpResponse r = httpGet(port, "/metrics");
  size_t at = r.body.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::atoll(r.body.c_str() + at + sample.size() + 2);
}

long long openConnections(int port, const std::string& transport) {
  return metric(port, "rtdemo_open_connections{transport=\"" + transport + "\"}");
}

bool sendGet(int fd, const std::string& target) {
  return sendAll(fd, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

std::string urlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string publish(int port, const std::string& channel, const std::string& data,
                    const std::string& event) {
  std::string body = "channel=" + urlEncode(channel) + "&data=" + urlEncode(data);
  if (!event.empty()) body += "&event=" + urlEncode(event);
  HttpResponse r = httpRequest(port, "POST", "/send", body, "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 201) << r.body;
  return r.status == 201 ? jsonField(r.body, "id") : "";
}

std::string jsonField(const std::string& json, const std::string& key) {
  std::string needle = "\"" + key + "\":\"";
  size_t p = json.find(needle);
  if (p == std::string::npos) return "";
  p += needle.size();
  size_t e = json.find('"', p);
  return json.substr(p, e - p);
}

SseClient::SseClient(int port, const std::string& target, const std::string& lastEventId) {
  fd_ = connectTo(port);
  if (fd_ < 0) {
    closed_ = true;
    return;
  }
  std::map<std::string, std::string> headers = {{"Accept", "text/event-stream"}};
  if (!lastEventId.empty()) headers["Last-Event-ID"] = lastEventId;
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (auto& h : headers) req += h.first + ": " + h.second + "\r\n";
  req += "\r\n";
  if (!sendAll(fd_, req)) {
    closed_ = true;
    return;
  }
  std::string buf;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  size_t headEnd;
  while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos) {
    if (readSome(fd_, &buf, deadline) <= 0) {
      closed_ = true;
      return;
    }
  }
  parseHead(buf.substr(0, headEnd), &status_, &headers_);
  parser_.feed(buf.substr(headEnd + 4));
  for (auto& e : parser_.take()) queue_.push_back(e);
}

SseClient::~SseClient() { close(); }

void SseClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

std::string SseClient::header(const std::string& lowerName) const {
  auto it = headers_.find(lowerName);
  return it == headers_.end() ? "" : it->second;
}

bool SseClient::fill(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  std::string buf;
  ssize_t n = readSome(fd_, &buf, Clock::now() + timeout);
  if (n == 0) {
    ::close(fd_);
    fd_ = -1;
    closed_ = true;
    return false;
  }
  if (n < 0) return false;
  parser_.feed(buf);
  for (auto& e : parser_.take()) queue_.push_back(e);
  return true;
}

std::optional<SseEvent> SseClient::next(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (queue_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !fill(left)) {
      if (queue_.empty()) return std::nullopt;
    }
  }
  SseEvent e = queue_.front();
  queue_.pop_front();
  return e;
}

std::vector<SseEvent> SseClient::messages(size_t n, std::chrono::milliseconds timeout) {
  std::vector<SseEvent> out;
  auto deadline = Clock::now() + timeout;
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    auto e = next(left);
    if (!e) break;
    if (e->type != "heartbeat") out.push_back(*e);
  }
  return out;
}

bool SseClient::waitForClose(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    if (!fill(left) && !closed_ && Clock::now() >= deadline) return false;
  }
  return true;
}

}  // namespace rtdemo
