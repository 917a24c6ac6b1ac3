// Long-poll answers: the JSON body, and the raw HTTP response that the hub
// writes on sockets it has taken over from the HTTP server.
//
// The pool thread answers polls that can be answered at once through POCO;
// held polls are answered from a hub loop, which writes encodeDetachedHead()
// and then the body (one encoded body is shared by every poll a message
// answers). Both paths share encodePollBody(), so clients cannot tell them
// apart.
#pragma once

#include <string>
#include <vector>

#include "storage/message.h"

namespace rtdemo {

// {"messages":[{"id","event","data","ts"}...],"last_id":"..."[,"reset":true,
// "oldest":...]}
std::string encodePollBody(const std::vector<MessagePtr>& messages,
                           const std::string& lastId, bool reset = false,
                           const std::string& oldest = "");

// The head of an HTTP/1.1 response with a JSON body of `contentLength`
// bytes, ending the connection or keeping it alive for the client's next
// request. `extraHeaders` are whole "Name: value\r\n" lines that the
// request's handler decided on (the session id, CORS), so that an answer
// written by the hub carries what an answer written by POCO would, down to
// the reason phrase (POCO's own for `status`).
std::string encodeDetachedHead(int status, size_t contentLength, bool keepAlive = false,
                               const std::string& extraHeaders = "");

}  // namespace rtdemo
