// Incremental HTTP/1.1 response reader. Each client connection owns one and
// feeds it whatever recv() returned; it reports the head, body bytes (with
// chunked framing removed) and the end of each response. Streaming bodies
// (SSE) simply never complete. Only what rtdemo and nginx actually send is
// supported: Content-Length, chunked, or a body delimited by close.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bench {

struct HttpHead {
  int status = 0;
  bool keep_alive = false;  // HTTP/1.1 without "Connection: close"
  std::string last_modified;
  std::string etag;
};

class HttpResponseListener {
 public:
  virtual ~HttpResponseListener() = default;
  virtual void onHead(const HttpHead& head) = 0;
  virtual void onBody(const char* data, size_t len) = 0;
  virtual void onComplete() = 0;
};

class HttpResponseReader {
 public:
  // listener must outlive this reader.
  explicit HttpResponseReader(HttpResponseListener* listener)
      : listener_(listener) {}

  // Consumes all of [data, data+len). Returns false on a malformed response;
  // the connection should then be dropped.
  bool feed(const char* data, size_t len);

  // The peer closed. Completes a close-delimited body; returns true when the
  // response in progress ended cleanly (or none was in progress).
  bool onEof();

  // True between the first byte of a response and its completion.
  bool inResponse() const { return state_ != State::kIdle; }

  // Forgets any response in progress. Safe to call from a listener
  // callback: feed() then returns without touching the rest of its input.
  void reset();

 private:
  enum class State {
    kIdle,      // waiting for a status line
    kHead,      // accumulating the head
    kLength,    // Content-Length body
    kUntilEof,  // body delimited by close
    kChunkSize,
    kChunkData,
    kChunkCrlf,
    kTrailer,
  };

  bool parseHead();
  void complete();

  HttpResponseListener* listener_;  // not owned
  State state_ = State::kIdle;
  std::string head_buf_;
  std::string line_buf_;  // chunk-size and trailer lines
  uint64_t remaining_ = 0;
  HttpHead head_;
  bool halted_ = false;  // reset() was called during feed()
};

}  // namespace bench
