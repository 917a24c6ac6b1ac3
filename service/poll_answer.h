// Long-poll answers: the JSON body, and the raw HTTP response that the hub
// writes on sockets it has taken over from the HTTP server.
//
// The pool thread answers polls that can be answered at once through POCO;
// held polls are answered from a hub loop with encodeDetachedResponse(), so
// both paths share encodePollBody() and clients cannot tell them apart.
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

// A complete HTTP/1.1 response with a JSON body, ending the connection or
// keeping it alive for the client's next request.
std::string encodeDetachedResponse(int status, const std::string& reason,
                                   const std::string& jsonBody,
                                   bool keepAlive = false);

}  // namespace rtdemo
