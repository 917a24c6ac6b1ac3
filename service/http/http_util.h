// Small helpers every handler uses: JSON answers and handing a socket over
// to the hub. (The Status-to-HTTP mapping is protocol/http_status.h.)
#pragma once

#include <map>
#include <string>

#include "Poco/Net/HTTPServerRequest.h"
#include "Poco/Net/HTTPServerResponse.h"
#include "Poco/Net/StreamSocket.h"

namespace rtdemo {

// Sends `body` as application/json with the given status.
void sendJson(Poco::Net::HTTPServerResponse& response, int status,
              const std::string& body);

// Sends {"error": message} with the given status.
void sendError(Poco::Net::HTTPServerResponse& response, int status,
               const std::string& message);

// A socket taken over from POCO's session, with the bytes the session had
// already read past the request but not parsed: a pipelined next request,
// or WebSocket frames sent together with the upgrade. The hub consumes them
// before it reads the socket (prefixed_socket.h).
struct DetachedSocket {
  Poco::Net::StreamSocket socket;
  std::string buffered;
};

// The headers set on `response` so far (session id, CORS, ...) as raw
// "Name: value\r\n" lines, for answers written later on the detached socket.
// Those such an answer writes itself (Connection, Content-Type,
// Content-Length, Cache-Control, Transfer-Encoding) are left out.
std::string detachedHeaderLines(const Poco::Net::HTTPServerResponse& response);

// Detaches the connection's socket from POCO's session; the handler must not
// touch the response afterwards, and the server thread goes back to the pool.
DetachedSocket detachSocket(Poco::Net::HTTPServerRequest& request);

// Takes the bytes the session read past the request head. For a WebSocket
// upgrade, call it before constructing Poco::Net::WebSocket, which would
// otherwise move them into a buffer of its own that nothing else can read.
std::string takeBuffered(Poco::Net::HTTPServerRequest& request);

}  // namespace rtdemo

namespace rtdemo {

// The decoded query parameters of a request; the last value of a repeated
// name wins.
struct Query {
  std::map<std::string, std::string> values;
  bool has(const std::string& k) const { return values.count(k) > 0; }
  std::string get(const std::string& k, const std::string& dflt = "") const {
    auto it = values.find(k);
    return it == values.end() ? dflt : it->second;
  }
};

// Returns false (and the reason) when the URI's query is malformed.
bool parseQuery(const Poco::Net::HTTPServerRequest& request, Query* out,
                std::string* error);

// Parses the query of a subscribe request (/events, /poll) and its channel
// (default "demo"). On a malformed query or channel, answers 400 and returns
// false.
bool readSubscribeQuery(const Poco::Net::HTTPServerRequest& request,
                        Poco::Net::HTTPServerResponse& response, Query* query,
                        std::string* channel);

}  // namespace rtdemo
