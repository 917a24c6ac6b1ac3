// Implementation of publish-body parsing (see send_request.h).
#include "service/protocol/send_request.h"

#include <algorithm>
#include <limits>

#include "Poco/Dynamic/Var.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Net/HTMLForm.h"
#include "Poco/String.h"
#include "service/protocol/json_field.h"
#include "service/protocol/validation.h"

namespace rtdemo {
namespace {

SendParse bad(int status, std::string error) { return SendParse{status, std::move(error)}; }

}  // namespace

SendParse validateSend(const SendRequest& r, size_t maxDataBytes) {
  std::string reason = checkChannelName(r.channel);
  if (!reason.empty()) return bad(400, reason);
  if (!r.event.empty()) {
    reason = checkEventName(r.event);
    if (!reason.empty()) return bad(400, reason);
  }
  if (r.data.size() > maxDataBytes)
    return bad(413, "data is " + std::to_string(r.data.size()) +
                        " bytes; the limit is " + std::to_string(maxDataBytes));
  if (!isValidUtf8(r.data)) return bad(400, "data is not valid UTF-8");
  return SendParse{};
}

SendParse readSendObject(const Poco::JSON::Object& obj, size_t maxDataBytes,
                         SendRequest* out) {
  SendRequest r;
  std::string error;
  bool present = false;
  bool hasData = false;
  if (!readStringField(obj, "channel", &r.channel, &error, &present)) return bad(400, error);
  if (!readStringField(obj, "event", &r.event, &error, &present)) return bad(400, error);
  if (!readStringField(obj, "data", &r.data, &error, &hasData)) return bad(400, error);
  if (!hasData && !readStringField(obj, "message", &r.data, &error, &hasData))
    return bad(400, error);
  if (!hasData) return bad(400, "missing field 'data'");
  SendParse v = validateSend(r, maxDataBytes);
  if (v.status == 0) *out = std::move(r);
  return v;
}

SendParse parseSendBody(const std::string& contentType, const std::string& body,
                        size_t maxDataBytes, SendRequest* out) {
  std::string type = Poco::toLower(contentType);
  if (type.rfind("application/json", 0) == 0) {
    Poco::Dynamic::Var parsed;
    try {
      Poco::JSON::Parser parser;
      parsed = parser.parse(body);
    } catch (const std::exception&) {
      return bad(400, "body is not valid JSON");
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
      return bad(400, "body must be a JSON object");
    return readSendObject(*parsed.extract<Poco::JSON::Object::Ptr>(), maxDataBytes, out);
  }
  SendRequest r;
  bool hasData = false;
  Poco::Net::HTMLForm form;
  // POCO refuses a form value over 256 KiB by default, far below what
  // rtdemo.send.max-bytes may allow; the data limit is checked below, with
  // its own 413. (URL-encoding at most triples a value.)
  form.setValueLengthLimit(static_cast<int>(
      std::min<size_t>(maxDataBytes * 3 + 1024, std::numeric_limits<int>::max())));
  try {
    form.read(body);
  } catch (const std::exception&) {
    return bad(400, "body is not a valid form");
  }
  r.channel = form.get("channel", r.channel);
  r.event = form.get("event", "");
  if (form.has("data")) {
    r.data = form.get("data");
    hasData = true;
  } else if (form.has("message")) {
    r.data = form.get("message");
    hasData = true;
  }
  if (!hasData) return bad(400, "missing field 'data'");
  SendParse v = validateSend(r, maxDataBytes);
  if (v.status == 0) *out = std::move(r);
  return v;
}

}  // namespace rtdemo
