// PrefixedSocketImpl: a socket whose first bytes were already read.
//
// POCO's HTTP session reads ahead: when a handler detaches a socket (an SSE
// stream, a long poll, a WebSocket upgrade), bytes that followed the request
// head may already sit in the session's buffer: the client's pipelined next
// request, or WebSocket frames sent with the upgrade. The handlers drain
// them (http_util.h) and the hub consumes them before reading the socket.
// When the hub hands such a connection back to POCO with bytes still
// unparsed, this impl gives POCO those bytes first, then the socket's, so
// no request is lost.
//
// It shares the descriptor of the impl it wraps and holds a reference to
// it, as POCO's own WebSocketImpl does: closing goes through the wrapped
// impl, and this one never closes the descriptor itself.
//
// Not thread-safe: one connection, one thread at a time (as POCO's own).
#pragma once

#include <string>

#include "Poco/Net/StreamSocketImpl.h"

namespace rtdemo {

class PrefixedSocketImpl : public Poco::Net::StreamSocketImpl {
 public:
  // `inner` must be a connected stream socket impl; a reference is taken.
  PrefixedSocketImpl(Poco::Net::StreamSocketImpl* inner, std::string prefix);

  int receiveBytes(void* buffer, int length, int flags = 0) override;
  int available() override;
  bool poll(const Poco::Timespan& timeout, int mode) override;
  void close() override;

 protected:
  ~PrefixedSocketImpl() override;

 private:
  Poco::Net::StreamSocketImpl* const inner_;
  std::string prefix_;
  size_t next_ = 0;  // prefix_[next_, end) is still unread
};

}  // namespace rtdemo
