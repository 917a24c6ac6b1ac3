// The client side of the WebSocket opening handshake (see ws_handshake.h).
#include "ws_handshake.h"

#include <strings.h>

#include <cstdlib>

namespace bench {
namespace {

// RFC 6455 section 1.3: this key's accept value is the one below.
constexpr char kKey[] = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr char kAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
constexpr size_t kMaxHead = 16384;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

std::string wsUpgradeRequest(const std::string& target) {
  return "GET " + target +
         " HTTP/1.1\r\n"
         "Host: 127.0.0.1\r\n"
         "Upgrade: websocket\r\n"
         "Connection: Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         std::string(kKey) +
         "\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n";
}

WsHandshakeReader::Result WsHandshakeReader::feed(const char* data, size_t len,
                                                  size_t* used) {
  // The end of the head may straddle two reads: search from 3 bytes back.
  const size_t old = head_.size();
  head_.append(data, len);
  size_t end = head_.find("\r\n\r\n", old < 3 ? 0 : old - 3);
  if (end == std::string::npos) {
    *used = len;
    return head_.size() > kMaxHead ? Result::kFailed : Result::kMore;
  }
  *used = end + 4 - old;
  head_.resize(end + 2);  // keep the last header's CRLF
  return check();
}

WsHandshakeReader::Result WsHandshakeReader::check() {
  // "HTTP/1.1 101 Switching Protocols"
  if (head_.compare(0, 5, "HTTP/") != 0) return Result::kFailed;
  size_t sp = head_.find(' ');
  if (sp == std::string::npos) return Result::kFailed;
  status_ = std::atoi(head_.c_str() + sp + 1);
  if (status_ != 101) return Result::kFailed;
  bool upgrade = false;
  bool accept = false;
  size_t line = head_.find("\r\n") + 2;
  while (line < head_.size()) {
    size_t eol = head_.find("\r\n", line);
    std::string h = head_.substr(line, eol - line);
    line = eol + 2;
    size_t colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = h.substr(0, colon);
    std::string value = trim(h.substr(colon + 1));
    if (strcasecmp(name.c_str(), "Upgrade") == 0) {
      upgrade = strcasecmp(value.c_str(), "websocket") == 0;
    } else if (strcasecmp(name.c_str(), "Sec-WebSocket-Accept") == 0) {
      accept = value == kAccept;
    }
  }
  return upgrade && accept ? Result::kOk : Result::kFailed;
}

}  // namespace bench
