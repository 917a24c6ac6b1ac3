// Implementation of the test WebSocket client (see ws_test_client.h).
#include "tests/support/ws_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/http_client.h"

namespace rtdemo {

using Clock = std::chrono::steady_clock;

std::string encodeClientFrame(uint8_t firstByte, const std::string& payload, bool mask) {
  std::string f;
  f.push_back(static_cast<char>(firstByte));
  uint8_t maskBit = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(maskBit | payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    f.push_back(static_cast<char>(maskBit | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    f.push_back(static_cast<char>(maskBit | 127));
    for (int s = 56; s >= 0; s -= 8)
      f.push_back(static_cast<char>((uint64_t(payload.size()) >> s) & 0xFF));
  }
  const char key[4] = {0x1f, 0x2e, 0x3d, 0x4c};
  if (mask) f.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i)
    f.push_back(mask ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  return f;
}

WsTestClient::WsTestClient(int port, const std::string& target,
                           const std::map<std::string, std::string>& headers,
                           const std::string& withUpgrade) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      selfConnected(fd_)) {  // see connectLoopback()
    ::close(fd_);
    fd_ = -1;
    return;
  }
  std::string extra;
  for (const auto& h : headers) extra += h.first + ": " + h.second + "\r\n";
  sendRaw("GET " + target +
          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
          extra + "\r\n" + withUpgrade);
  auto deadline = Clock::now() + std::chrono::seconds(10);
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !fill(left)) return;
  }
  head_ = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  size_t sp = head_.find(' ');
  status_ = sp == std::string::npos ? 0 : std::atoi(head_.c_str() + sp + 1);
}

WsTestClient::~WsTestClient() {
  if (fd_ >= 0) ::close(fd_);
}

void WsTestClient::sendText(const std::string& text) { sendRaw(encodeClientFrame(0x81, text)); }

void WsTestClient::sendRaw(const std::string& bytes) {
  if (fd_ < 0) return;
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

bool WsTestClient::fill(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char tmp[65536];
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) {
    ::close(fd_);
    fd_ = -1;
    peerClosed_ = true;
    return false;
  }
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

std::optional<WsTestClient::Frame> WsTestClient::next(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (buf_.size() >= 2) {
      const auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
      uint64_t len = p[1] & 0x7F;
      size_t header = 2;
      if (len == 126 && buf_.size() >= 4) {
        len = (uint64_t(p[2]) << 8) | p[3];
        header = 4;
      } else if (len == 127 && buf_.size() >= 10) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
        header = 10;
      } else if (len >= 126) {
        header = SIZE_MAX;
      }
      if (header != SIZE_MAX && buf_.size() >= header + len) {
        Frame f{static_cast<uint8_t>(p[0] & 0x0F), buf_.substr(header, len)};
        buf_.erase(0, header + len);
        return f;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !fill(left)) return std::nullopt;
  }
}

std::optional<std::string> WsTestClient::nextOfType(const std::string& type,
                                                    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  const std::string needle = "{\"type\":\"" + type + "\"";
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto f = next(left);
    if (!f) return std::nullopt;
    if (f->opcode == 0x1 && f->payload.rfind(needle, 0) == 0) return f->payload;
    if (f->opcode == 0x8) return std::nullopt;
  }
}

uint16_t WsTestClient::waitClose(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    auto f = next(left);
    if (!f) return 0;
    if (f->opcode == 0x8 && f->payload.size() >= 2)
      return static_cast<uint16_t>((static_cast<uint8_t>(f->payload[0]) << 8) |
                                   static_cast<uint8_t>(f->payload[1]));
  }
}

}  // namespace rtdemo
