// Test clients for the real server: plain HTTP requests, and an SSE stream
// reader that sees events the way a browser's EventSource would.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/sse_parser.h"

namespace rtdemo {

struct HttpResponse {
  int status = 0;  // 0: no answer (connection failed or timed out)
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? "" : it->second;
  }
};

// One request on its own connection. `headers` are extra request headers.
HttpResponse httpRequest(int port, const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& contentType = "",
                         const std::map<std::string, std::string>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

inline HttpResponse httpGet(int port, const std::string& target,
                            const std::map<std::string, std::string>& headers = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  return httpRequest(port, "GET", target, "", "", headers, timeout);
}

std::string urlEncode(const std::string& s);

// A raw loopback connection (optionally with a small receive buffer, to play
// a slow client) and a bare GET on it, for tests that hold many sockets or
// must not wait for an answer.
// Returns -1 when nothing listens. A connection that TCP joined to itself
// counts as none: connecting to a port nobody listens on can pick that same
// port as the ephemeral source (a restart's port, while the server is down),
// and the socket would then hold the port the restarting server needs.
int connectLoopback(int port, int rcvbuf = 0);
bool selfConnected(int fd);
bool sendGet(int fd, const std::string& target);
// True when something accepts connections on the loopback port.
bool portAccepts(int port);

// Reads the next response (with a Content-Length body, or none) from a
// kept-alive connection `fd`. `pending` carries bytes read past one response
// to the next call. Status 0: no complete response within `timeout`, or the
// connection closed (then *closed is set, when given).
HttpResponse readResponseOn(int fd, std::string* pending,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10),
                            bool* closed = nullptr);

// The value of one sample line of /metrics, e.g.
// metric(port, "rtdemo_refusals_total{reason=\"unauthorized\",code=\"401\"}"),
// or -1 when there is no such line.
long long metric(int port, const std::string& sample);

// The rtdemo_open_connections gauge for `transport` ("sse", "poll" for held
// polls, "websocket"): what tests wait on before they publish to a stream
// or poll that must already be held.
long long openConnections(int port, const std::string& transport);

// POST /send as a form; returns the id of a 201, or "" (with a test failure).
std::string publish(int port, const std::string& channel, const std::string& data,
                    const std::string& event = "");

// Extracts a top-level string field from a flat JSON object (test use only).
std::string jsonField(const std::string& json, const std::string& key);

class SseClient {
 public:
  // Connects and sends GET `target`; reads the response head.
  SseClient(int port, const std::string& target, const std::string& lastEventId = "");
  ~SseClient();

  int status() const { return status_; }
  std::string header(const std::string& lowerName) const;
  int retryMs() const { return parser_.retryMs(); }

  // The next event of any type, or nullopt on timeout or close.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next `n` events that are not heartbeats (fewer on timeout or close).
  std::vector<SseEvent> messages(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True once the server has closed the stream (EOF or reset).
  bool waitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool closed() const { return closed_; }
  void close();

 private:
  bool fill(std::chrono::milliseconds timeout);

  int fd_ = -1;
  int status_ = 0;
  bool closed_ = false;
  std::map<std::string, std::string> headers_;
  SseParser parser_;
  std::deque<SseEvent> queue_;
};

}  // namespace rtdemo
