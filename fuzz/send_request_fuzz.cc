// libFuzzer target: parsing what a publisher or subscriber sends, before any
// of it reaches the Broker: the POST /send body (service/send_request.h
// parseSendBody, JSON and form), and the query of a subscribe request (the
// channel rules and the cursor parser, MessageId::parse).
//
// Input layout: the first byte picks the content type (even: JSON, odd:
// form); the rest is both the body and a query string. Besides crashes and
// sanitizer reports it checks the contract: an accepted publish has a valid
// channel, a valid or empty event, valid UTF-8 data within the size limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "Poco/Exception.h"
#include "Poco/URI.h"
#include "service/send_request.h"
#include "service/validation.h"
#include "storage/message_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  constexpr size_t kMaxData = 1024;
  std::string contentType = (bytes[0] & 1) ? "application/x-www-form-urlencoded"
                                           : "application/json; charset=utf-8";
  std::string body(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  rtdemo::SendRequest parsed;
  rtdemo::SendParse result =
      rtdemo::parseSendBody(contentType, body, kMaxData, &parsed);
  if (result.status == 0) {
    if (!rtdemo::checkChannelName(parsed.channel).empty()) std::abort();
    if (!parsed.event.empty() && !rtdemo::checkEventName(parsed.event).empty())
      std::abort();
    if (!rtdemo::isValidUtf8(parsed.data)) std::abort();
    if (parsed.data.size() > kMaxData) std::abort();
  } else if (result.status != 400 && result.status != 413) {
    std::abort();
  } else if (result.error.empty()) {
    std::abort();
  }

  // The subscribe query, as /events and /poll read it (http_util.cc).
  try {
    Poco::URI uri("/events?" + body);
    for (const auto& kv : uri.getQueryParameters()) {
      if (kv.first == "channel") rtdemo::checkChannelName(kv.second);
      if (kv.first == "since" || kv.first == "last_event_id") {
        auto id = rtdemo::MessageId::parse(kv.second);
        // A parsed id must print back to something that parses the same.
        if (id && !rtdemo::MessageId::parse(id->toString())) std::abort();
      }
    }
  } catch (const Poco::Exception&) {
    // A malformed query is a 400, not a crash.
  }
  auto id = rtdemo::MessageId::parse(body);
  if (id && !rtdemo::MessageId::parse(id->toString())) std::abort();
  return 0;
}
