// libFuzzer target: the WebSocket JSON command parser
// (service/protocol/ws_protocol.h wsproto::parseCommand), which reads every text
// message a client sends, on a hub loop. Besides crashes and sanitizer
// reports it checks the contract:
//   - no exception escapes;
//   - an accepted command is one the hub can act on without checking again:
//     a valid channel, a last_id and a ref of at most 128 bytes, and for a
//     publish a valid or empty event and UTF-8 data within the limit;
//   - a refused one has a reason that is valid UTF-8 (it may quote the
//     client), a status of 400 or 413, and a ref that is UTF-8 of at most
//     128 bytes;
//   - every answer built from it (error, subscribed, unsubscribed) is valid
//     UTF-8 JSON that parses back to the same error text and ref.
//
// Input layout: byte 0 picks the data limit; the rest is the message text.
// The decoder only passes UTF-8 text on, but the parser is fed anything.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>

#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "service/protocol/validation.h"
#include "service/protocol/ws_protocol.h"

namespace {

// `json` is UTF-8, is one JSON object, and has `key` equal to `value`
// (absent when `value` is empty and `optional`).
void checkAnswer(const std::string& json, const char* key, const std::string& value,
                 bool optional) {
  if (!rtdemo::isValidUtf8(json)) std::abort();
  Poco::JSON::Object::Ptr obj;
  try {
    Poco::JSON::Parser parser;
    obj = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    std::abort();  // we built something that is not JSON
  }
  if (optional && value.empty()) {
    if (obj->has(key)) std::abort();
    return;
  }
  if (!obj->has(key) || obj->getValue<std::string>(key) != value) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  static const size_t kLimits[] = {0, 1, 16, 1000};
  const size_t maxData = kLimits[bytes[0] % 4];
  const std::string text(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  rtdemo::wsproto::Command cmd;
  std::string error;
  bool ok = false;
  try {
    ok = rtdemo::wsproto::parseCommand(text, maxData, &cmd, &error);
  } catch (...) {
    std::abort();  // an exception here would end the hub loop
  }
  if (cmd.ref.size() > 128 || !rtdemo::isValidUtf8(cmd.ref)) std::abort();

  if (!ok) {
    if (error.empty() || !rtdemo::isValidUtf8(error)) std::abort();
    if (cmd.errorStatus != 400 && cmd.errorStatus != 413) std::abort();
    // The hub sends exactly this, and the client reads error and ref back.
    std::string answer = rtdemo::wsproto::encodeError(error, cmd.ref, cmd.errorStatus);
    checkAnswer(answer, "error", error, false);
    checkAnswer(answer, "ref", cmd.ref, true);
    return 0;
  }

  if (!rtdemo::checkChannelName(cmd.channel).empty()) std::abort();
  switch (cmd.type) {
    case rtdemo::wsproto::Command::Type::kSubscribe:
      if (cmd.lastId.size() > rtdemo::kMaxCursorLength) std::abort();
      checkAnswer(rtdemo::wsproto::encodeSubscribed(cmd.channel, cmd.ref), "ref", cmd.ref, true);
      break;
    case rtdemo::wsproto::Command::Type::kUnsubscribe:
      checkAnswer(rtdemo::wsproto::encodeUnsubscribed(cmd.channel, cmd.ref), "ref", cmd.ref,
                  true);
      break;
    case rtdemo::wsproto::Command::Type::kPublish:
      if (!cmd.event.empty() && !rtdemo::checkEventName(cmd.event).empty()) std::abort();
      if (cmd.data.size() > maxData || !rtdemo::isValidUtf8(cmd.data)) std::abort();
      break;
  }
  return 0;
}
