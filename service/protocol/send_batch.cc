// Implementation of batch publish parsing (see send_batch.h).
#include "service/protocol/send_batch.h"

#include <algorithm>

#include "Poco/Dynamic/Var.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/String.h"

namespace rtdemo {
namespace {

// `type` in lower case.
bool isNdjson(const std::string& type) {
  return type.rfind("application/x-ndjson", 0) == 0 || type.rfind("application/ndjson", 0) == 0;
}

SendBatchParse refuse(int status, std::string error, long index = -1) {
  return SendBatchParse{status, std::move(error), index};
}

SendBatchParse tooMany(size_t count, const SendLimits& limits, bool atLeast) {
  return refuse(413, std::string("the batch has ") + (atLeast ? "more than " : "") +
                         std::to_string(atLeast ? limits.maxMessages : count) +
                         " messages; at most " + std::to_string(limits.maxMessages) +
                         " are allowed (rtdemo.send.batch.max-messages)");
}

// Adds one element, already a parsed JSON value, to *out, checking it and
// the running byte count.
SendBatchParse addElement(const Poco::Dynamic::Var& value, const SendLimits& limits,
                          uint64_t* bytes, SendBatch* out) {
  const long index = static_cast<long>(out->messages.size());
  const std::string prefix = "message " + std::to_string(index) + ": ";
  if (value.type() != typeid(Poco::JSON::Object::Ptr))
    return refuse(400, prefix + "must be a JSON object", index);
  SendRequest r;
  SendParse p =
      readSendObject(*value.extract<Poco::JSON::Object::Ptr>(), limits.maxDataBytes, &r);
  if (p.status != 0) return refuse(p.status, prefix + p.error, index);
  *bytes += messageCost(r.event.size(), r.data.size());
  if (*bytes > limits.maxBatchBytes)
    return refuse(413,
                  prefix + "the batch exceeds " + std::to_string(limits.maxBatchBytes) +
                      " bytes (rtdemo.send.batch.max-bytes, counting data + event + 64 "
                      "per message)",
                  index);
  out->messages.push_back(std::move(r));
  return {};
}

SendBatchParse parseNdjson(const std::string& body, const SendLimits& limits,
                           SendBatch* out) {
  uint64_t bytes = 0;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (out->messages.size() >= limits.maxMessages) return tooMany(0, limits, true);
    Poco::Dynamic::Var value;
    try {
      Poco::JSON::Parser parser;
      value = parser.parse(line);
    } catch (const std::exception&) {
      const long index = static_cast<long>(out->messages.size());
      return refuse(400, "message " + std::to_string(index) + ": not valid JSON", index);
    }
    SendBatchParse p = addElement(value, limits, &bytes, out);
    if (p.status != 0) return p;
  }
  if (out->messages.empty()) return refuse(400, "the batch is empty");
  return {};
}

}  // namespace

SendBatchParse readSendArray(const Poco::JSON::Array& array, const SendLimits& limits,
                             SendBatch* out) {
  SendBatch batch;
  batch.batch = true;
  if (array.size() == 0) return refuse(400, "the batch is empty");
  if (array.size() > limits.maxMessages) return tooMany(array.size(), limits, false);
  uint64_t bytes = 0;
  for (size_t i = 0; i < array.size(); ++i) {
    SendBatchParse p = addElement(array.get(static_cast<unsigned>(i)), limits, &bytes, &batch);
    if (p.status != 0) return p;
  }
  *out = std::move(batch);
  return {};
}

SendBatchParse parseSendBatch(const std::string& contentType, const std::string& body,
                              const SendLimits& limits, SendBatch* out) {
  const std::string type = Poco::toLower(contentType);
  if (isNdjson(type)) {
    SendBatch batch;
    batch.batch = true;
    SendBatchParse p = parseNdjson(body, limits, &batch);
    if (p.status == 0) *out = std::move(batch);
    return p;
  }
  if (type.rfind("application/json", 0) == 0) {
    Poco::Dynamic::Var parsed;
    try {
      Poco::JSON::Parser parser;
      parsed = parser.parse(body);
    } catch (const std::exception&) {
      return refuse(400, "body is not valid JSON");
    }
    if (parsed.type() == typeid(Poco::JSON::Array::Ptr))
      return readSendArray(*parsed.extract<Poco::JSON::Array::Ptr>(), limits, out);
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
      return refuse(400, "body must be a JSON object or an array of them");
    SendRequest r;
    SendParse p =
        readSendObject(*parsed.extract<Poco::JSON::Object::Ptr>(), limits.maxDataBytes, &r);
    if (p.status != 0) return refuse(p.status, p.error);
    out->batch = false;
    out->messages.assign(1, std::move(r));
    return {};
  }
  SendRequest r;
  SendParse p = parseSendBody(contentType, body, limits.maxDataBytes, &r);
  if (p.status != 0) return refuse(p.status, p.error);
  out->batch = false;
  out->messages.assign(1, std::move(r));
  return {};
}

void writeStoredMessages(JsonWriter* json, const std::vector<MessagePtr>& stored) {
  json->key("messages");
  json->beginArray();
  for (const MessagePtr& m : stored) {
    json->beginObject();
    json->key("id");
    json->string(m->idText);
    json->key("channel");
    json->string(m->channel);
    json->endObject();
  }
  json->endArray();
}

size_t sendBodyLimit(const SendLimits& limits, const std::string& contentType) {
  const uint64_t single = static_cast<uint64_t>(limits.maxDataBytes) * 3 + 4096;
  const std::string type = Poco::toLower(contentType);
  const bool json = type.rfind("application/json", 0) == 0 || isNdjson(type);
  const uint64_t limit = json ? std::max(single, limits.maxBatchBytes * 2 + 4096) : single;
  return static_cast<size_t>(std::min<uint64_t>(limit, SIZE_MAX / 2));
}

}  // namespace rtdemo
