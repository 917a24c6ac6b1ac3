// libFuzzer target: the re-poll a hub loop reads itself on a kept-alive
// long-poll connection (service/protocol/poll_continuation.h). These bytes come
// straight from the network and are parsed on a hub loop, so besides crashes
// and sanitizer reports it checks the contract: a re-poll the hub accepts
// consumes no more than the bytes it was given and ends at the end of a head,
// names a valid channel and a cursor within the length limit, a timeout that
// is -1 or not negative, and the Origin the connection started with.
//
// Input layout: the first byte picks the connection's Origin ("" or
// https://app.example) and the size limit; the rest is what the client sent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "service/protocol/poll_continuation.h"
#include "service/protocol/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  const std::string origin = (bytes[0] & 1) ? "https://app.example" : "";
  rtdemo::NextPollLimits limits;
  limits.maxBytes = (bytes[0] & 2) ? 4096 : 256;
  limits.maxHeaders = (bytes[0] & 4) ? 64 : 4;
  std::string_view input(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  rtdemo::NextPoll poll;
  rtdemo::NextPollVerdict v = rtdemo::parseNextPoll(input, origin, limits, &poll);
  if (v == rtdemo::NextPollVerdict::kIncomplete) {
    // Only while no head is complete and the limit is not reached.
    if (input.find("\r\n\r\n") != std::string_view::npos) std::abort();
    if (input.size() >= limits.maxBytes) std::abort();
  }
  if (v != rtdemo::NextPollVerdict::kRePoll) return 0;
  if (poll.length < 4 || poll.length > input.size() || poll.length > limits.maxBytes)
    std::abort();
  if (input.substr(poll.length - 4, 4) != "\r\n\r\n") std::abort();
  // The method is GET. POCO's parser, which the HTTP server uses too,
  // skips leading whitespace and takes any whitespace as a separator.
  const char* const kSpace = " \t\r\n\v\f";
  size_t start = input.find_first_not_of(kSpace);
  if (start == std::string_view::npos || input.substr(start, 3) != "GET" ||
      input.size() < start + 4 ||
      std::string_view(kSpace).find(input[start + 3]) == std::string_view::npos)
    std::abort();
  if (!rtdemo::checkChannelName(poll.channel).empty()) std::abort();
  if (poll.since.size() > rtdemo::kMaxCursorLength) std::abort();
  if (poll.timeoutSeconds < -1) std::abort();
  return 0;
}
