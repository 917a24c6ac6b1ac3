// Implementation of parseNextPoll (see poll_continuation.h). POCO's own
// request parser reads the head, so a re-poll is understood exactly as the
// HTTP server would understand it.
#include "service/protocol/poll_continuation.h"

#include "Poco/MemoryStream.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/NumberParser.h"
#include "Poco/URI.h"
#include "service/protocol/validation.h"

namespace rtdemo {

NextPollVerdict parseNextPoll(std::string_view bytes, const std::string& origin,
                              const NextPollLimits& limits, NextPoll* out) {
  size_t end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return bytes.size() >= limits.maxBytes ? NextPollVerdict::kHandBack
                                           : NextPollVerdict::kIncomplete;
  const size_t length = end + 4;
  if (length > limits.maxBytes) return NextPollVerdict::kHandBack;

  Poco::Net::HTTPRequest request;
  try {
    Poco::MemoryInputStream in(bytes.data(), length);
    request.read(in);
  } catch (const std::exception&) {
    return NextPollVerdict::kHandBack;  // the HTTP server says what is wrong
  }
  if (request.getMethod() != Poco::Net::HTTPRequest::HTTP_GET ||
      request.getVersion() != Poco::Net::HTTPRequest::HTTP_1_1 ||
      request.size() > limits.maxHeaders || request.hasContentLength() ||
      request.getChunkedTransferEncoding() || request.has("Transfer-Encoding") ||
      request.has("Upgrade") || request.has("Expect") ||
      request.get("Origin", "") != origin)
    return NextPollVerdict::kHandBack;

  NextPoll poll;
  try {
    Poco::URI uri(request.getURI());
    if (uri.getPath() != "/poll") return NextPollVerdict::kHandBack;
    std::string channel = "demo";
    for (const auto& kv : uri.getQueryParameters()) {
      if (kv.first == "channel") {
        channel = kv.second;
      } else if (kv.first == "since") {
        poll.since = kv.second;
      } else if (kv.first == "timeout") {
        int t = 0;
        if (!Poco::NumberParser::tryParse(kv.second, t) || t < 0)
          return NextPollVerdict::kHandBack;
        poll.timeoutSeconds = t;
      }
    }
    poll.channel = std::move(channel);
  } catch (const std::exception&) {
    return NextPollVerdict::kHandBack;
  }
  if (!checkChannelName(poll.channel).empty() ||
      !checkCursor("since", poll.since).empty())
    return NextPollVerdict::kHandBack;
  poll.keepAlive = request.getKeepAlive();
  poll.length = length;
  *out = std::move(poll);
  return NextPollVerdict::kRePoll;
}

}  // namespace rtdemo
