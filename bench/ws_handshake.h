// The client side of the WebSocket opening handshake (RFC 6455 section 4).
// Every subscriber sends the same Sec-WebSocket-Key, the sample key of RFC
// 6455 section 1.3, whose Sec-WebSocket-Accept is known in advance; so the
// bench needs no SHA-1 and still checks that the server computed it. The key
// only proves the server speaks WebSocket; it protects nothing.
#pragma once

#include <cstddef>
#include <string>

namespace bench {

// The upgrade request for target (path and query), ready to send.
std::string wsUpgradeRequest(const std::string& target);

// Reads the server's answer to the upgrade request, which may arrive in
// pieces and be followed in the same read by the first frames.
class WsHandshakeReader {
 public:
  enum class Result { kMore, kOk, kFailed };

  // Consumes bytes of [data, data+len) up to the end of the head. With kOk,
  // *used says how many; the rest are frames. With kFailed, status() gives
  // the status code: 0 when malformed, 101 when the Upgrade or
  // Sec-WebSocket-Accept header was wrong.
  Result feed(const char* data, size_t len, size_t* used);

  int status() const { return status_; }
  void reset() {
    head_.clear();
    status_ = 0;
  }

 private:
  Result check();

  std::string head_;
  int status_ = 0;
};

}  // namespace bench
