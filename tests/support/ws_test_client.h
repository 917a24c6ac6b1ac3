// A WebSocket client for tests, on a raw socket: it can send frames no real
// client would (unmasked, binary, oversized) and read close codes, which a
// library client hides.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace rtdemo {

// A masked client frame with the given first byte (FIN|opcode).
std::string encodeClientFrame(uint8_t firstByte, const std::string& payload, bool mask = true);

class WsTestClient {
 public:
  struct Frame {
    uint8_t opcode;
    std::string payload;
  };

  // Connects to 127.0.0.1:port and performs the handshake for `target`,
  // with any extra request headers (e.g. Authorization, Origin).
  // `withUpgrade` goes out in the same write as the upgrade request (frames
  // a client sends before it has seen the 101).
  WsTestClient(int port, const std::string& target,
               const std::map<std::string, std::string>& headers = {},
               const std::string& withUpgrade = "");
  ~WsTestClient();

  int status() const { return status_; }  // 101 when upgraded
  bool connected() const { return fd_ >= 0; }  // false once the server closed
  const std::string& responseHead() const { return head_; }

  void sendText(const std::string& text);
  void sendRaw(const std::string& bytes);

  // The next frame, or nullopt on timeout or close.
  std::optional<Frame> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next text frame whose JSON "type" is `type` (others are skipped).
  std::optional<std::string> nextOfType(const std::string& type,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for a close frame; returns its code, or 0 if none came.
  uint16_t waitClose(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True once a read found the connection closed by the server (EOF or
  // reset); next() then returns nullopt at once, not on its timeout.
  bool peerClosed() const { return peerClosed_; }

 private:
  bool fill(std::chrono::milliseconds timeout);

  int fd_ = -1;
  bool peerClosed_ = false;
  int status_ = 0;
  std::string head_;
  std::string buf_;
};

}  // namespace rtdemo
