// libFuzzer target: the body of POST /send, JSON and form alike
// (service/protocol/send_request.h parseSendBody), and the query of a subscribe
// request (the channel rule, as /events and /poll read it). The content type
// is the client's too: whatever it says, the body goes one of the two ways.
//
// Input layout: byte 0 picks the Content-Type header (0: JSON, 1: form,
// others: the variants a client can send, upper case, with parameters, none
// or another type); the rest is the body, and also a query string. Besides
// crashes and sanitizer reports it checks the contract:
//   - an accepted publish has a valid channel, a valid or empty event, and
//     valid UTF-8 data within the size limit;
//   - it survives a round trip: the same request written as JSON and as a
//     form is accepted by both parsers, with the same fields;
//   - a refusal is a 400 or 413 with a reason that is valid UTF-8.
// Cursor parsing (since, last_event_id) has its own target, cursor_fuzz.cc.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "Poco/Exception.h"
#include "Poco/URI.h"
#include "service/protocol/json_writer.h"
#include "service/protocol/send_request.h"
#include "service/protocol/validation.h"

namespace {

constexpr size_t kMaxData = 1024;

bool same(const rtdemo::SendRequest& a, const rtdemo::SendRequest& b) {
  return a.channel == b.channel && a.event == b.event && a.data == b.data;
}

std::string formEncode(const std::string& s) {
  std::string out;
  Poco::URI::encode(s, "!#$&'()*+,/:;=?@[]%", out);
  return out;
}

void roundTrip(const rtdemo::SendRequest& r) {
  rtdemo::JsonWriter json;
  json.beginObject();
  json.key("channel");
  json.string(r.channel);
  if (!r.event.empty()) {
    json.key("event");
    json.string(r.event);
  }
  json.key("data");
  json.string(r.data);
  json.endObject();
  std::string form = "channel=" + formEncode(r.channel) + "&data=" + formEncode(r.data);
  if (!r.event.empty()) form += "&event=" + formEncode(r.event);

  rtdemo::SendRequest viaJson, viaForm;
  if (rtdemo::parseSendBody("application/json", json.str(), kMaxData, &viaJson).status != 0 ||
      !same(viaJson, r))
    std::abort();
  if (rtdemo::parseSendBody("application/x-www-form-urlencoded", form, kMaxData, &viaForm)
              .status != 0 ||
      !same(viaForm, r))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  static const char* const kTypes[] = {
      "application/json; charset=utf-8", "application/x-www-form-urlencoded",
      "APPLICATION/JSON",                "application/json",
      "",                                "text/plain",
      "application/jsonp",               "multipart/form-data; boundary=x"};
  const std::string contentType = kTypes[bytes[0] % 8];
  const std::string body(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  rtdemo::SendRequest parsed;
  rtdemo::SendParse result = rtdemo::parseSendBody(contentType, body, kMaxData, &parsed);
  if (result.status == 0) {
    if (!rtdemo::checkChannelName(parsed.channel).empty()) std::abort();
    if (!parsed.event.empty() && !rtdemo::checkEventName(parsed.event).empty())
      std::abort();
    if (!rtdemo::isValidUtf8(parsed.data)) std::abort();
    if (parsed.data.size() > kMaxData) std::abort();
    roundTrip(parsed);
  } else if (result.status != 400 && result.status != 413) {
    std::abort();
  } else if (result.error.empty() || !rtdemo::isValidUtf8(result.error)) {
    std::abort();
  }

  // The subscribe query, as /events and /poll read it (http_util.cc).
  try {
    Poco::URI uri("/events?" + body);
    for (const auto& kv : uri.getQueryParameters()) {
      if (kv.first == "channel" && rtdemo::checkChannelName(kv.second).empty() &&
          kv.second.find_first_of("\r\n\" ") != std::string::npos)
        std::abort();
    }
  } catch (const Poco::Exception&) {
    // A malformed query is a 400, not a crash.
  }
  return 0;
}
