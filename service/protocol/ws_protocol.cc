// Implementation of the WebSocket JSON protocol (see ws_protocol.h).
#include "service/protocol/ws_protocol.h"

#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "service/protocol/json_field.h"
#include "service/protocol/json_writer.h"
#include "service/protocol/send_request.h"
#include "service/protocol/validation.h"

namespace rtdemo {
namespace wsproto {
namespace {

void refField(JsonWriter* json, const std::string& ref) {
  if (ref.empty()) return;
  json->key("ref");
  json->string(ref);
}

}  // namespace

bool parseCommand(const std::string& text, size_t maxDataBytes, Command* out,
                  std::string* error) {
  SendLimits limits;
  limits.maxDataBytes = maxDataBytes;
  return parseCommand(text, limits, out, error);
}

bool parseCommand(const std::string& text, const SendLimits& limits, Command* out,
                  std::string* error) {
  const size_t maxDataBytes = limits.maxDataBytes;
  Poco::JSON::Object::Ptr obj;
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var v = parser.parse(text);
    if (v.type() != typeid(Poco::JSON::Object::Ptr)) {
      *error = "a message must be a JSON object";
      return false;
    }
    obj = v.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    *error = "message is not valid JSON";
    return false;
  }
  std::string type;
  if (!readStringField(*obj, "ref", &out->ref, error)) return false;
  if (out->ref.size() > 128) {
    out->ref.clear();
    *error = "ref is longer than 128 bytes";
    return false;
  }
  // Every answer echoes the ref, so it must be UTF-8 a client can take
  // back. POCO's parser refuses lone surrogates in \u escapes today; this
  // keeps that true whatever the parser does.
  if (!isValidUtf8(out->ref)) {
    out->ref.clear();
    *error = "ref is not valid UTF-8";
    return false;
  }
  if (!readStringField(*obj, "type", &type, error)) return false;
  if (!readStringField(*obj, "channel", &out->channel, error)) return false;
  if (type == "subscribe") {
    out->type = Command::Type::kSubscribe;
    if (!readStringField(*obj, "last_id", &out->lastId, error)) return false;
    if (std::string why = checkCursor("last_id", out->lastId); !why.empty()) {
      *error = why;
      return false;
    }
  } else if (type == "unsubscribe") {
    out->type = Command::Type::kUnsubscribe;
  } else if (type == "publish") {
    out->type = Command::Type::kPublish;
    if (obj->has("messages") && !obj->isNull("messages")) {
      Poco::JSON::Array::Ptr array = obj->getArray("messages");
      if (!array) {
        *error = "field 'messages' must be an array";
        return false;
      }
      // Each message names its own channel and event: a top-level one
      // beside them would be ignored, so it is refused instead.
      if (obj->has("data") || obj->has("event") || obj->has("channel")) {
        *error = "a publish with 'messages' has no 'channel', 'event' or 'data' of its own";
        return false;
      }
      SendBatchParse p = readSendArray(*array, limits, &out->batch);
      if (p.status != 0) {
        out->errorStatus = p.status;
        out->errorIndex = p.index;
        *error = p.error;
        return false;
      }
      return true;
    }
    bool hasData = obj->has("data") && !obj->isNull("data");
    if (!readStringField(*obj, "event", &out->event, error)) return false;
    if (!readStringField(*obj, "data", &out->data, error)) return false;
    if (!hasData) {
      *error = "missing field 'data'";
      return false;
    }
    if (out->channel.empty()) out->channel = "demo";
    SendRequest r;
    r.channel = out->channel;
    r.event = out->event;
    r.data = out->data;
    SendParse v = validateSend(r, maxDataBytes);
    if (v.status != 0) {
      out->errorStatus = v.status;
      *error = v.error;
      return false;
    }
    return true;
  } else if (type.empty()) {
    *error = "missing field 'type'";
    return false;
  } else {
    // Quoted back, so cut at a character boundary, never inside one.
    *error = "unknown type '" + utf8Excerpt(type, 32) + "'";
    return false;
  }
  if (out->channel.empty()) {
    *error = "missing field 'channel'";
    return false;
  }
  std::string reason = checkChannelName(out->channel);
  if (!reason.empty()) {
    *error = reason;
    return false;
  }
  return true;
}

std::string encodeMessage(const Message& m) {
  JsonWriter json;
  json.beginObject();
  json.key("type");
  json.string("message");
  json.key("channel");
  json.string(m.channel);
  json.key("id");
  json.string(m.idText);
  json.key("event");
  json.string(m.event);
  json.key("data");
  json.string(m.data);
  json.key("ts");
  json.number(m.tsMs);
  json.endObject();
  return json.take();
}

std::string encodeHeartbeat(int64_t nowMs) {
  return "{\"type\":\"heartbeat\",\"ts\":" + std::to_string(nowMs) + "}";
}

std::string encodeReset(const std::string& channel, const std::string& oldest,
                        const std::string& reason) {
  JsonWriter json;
  json.beginObject();
  json.key("type");
  json.string("reset");
  json.key("channel");
  json.string(channel);
  json.key("oldest");
  json.stringOrNull(oldest);
  json.key("reason");
  json.string(reason);
  json.endObject();
  return json.take();
}

static std::string channelAnswer(const char* type, const std::string& channel,
                                 const std::string& ref) {
  JsonWriter json;
  json.beginObject();
  json.key("type");
  json.string(type);
  json.key("channel");
  json.string(channel);
  refField(&json, ref);
  json.endObject();
  return json.take();
}

std::string encodeSubscribed(const std::string& channel, const std::string& ref) {
  return channelAnswer("subscribed", channel, ref);
}

std::string encodeUnsubscribed(const std::string& channel, const std::string& ref) {
  return channelAnswer("unsubscribed", channel, ref);
}

std::string encodeAck(const Message& stored, const std::string& ref) {
  JsonWriter json;
  json.beginObject();
  json.key("type");
  json.string("ack");
  json.key("id");
  json.string(stored.idText);
  json.key("channel");
  json.string(stored.channel);
  refField(&json, ref);
  json.endObject();
  return json.take();
}

std::string encodeBatchAck(const std::vector<MessagePtr>& stored, const std::string& ref) {
  JsonWriter json;
  json.beginObject();
  json.key("type");
  json.string("ack");
  writeStoredMessages(&json, stored);
  refField(&json, ref);
  json.endObject();
  return json.take();
}

std::string encodeError(const std::string& error, const std::string& ref, int status,
                        long index) {
  JsonWriter json;
  json.beginObject();
  json.key("type");
  json.string("error");
  json.key("status");
  json.number(status);
  json.key("error");
  // Error texts may quote a client or a backend: never let one put bytes
  // that are not UTF-8 into a text frame (RFC 6455 8.1 would have the
  // client fail the connection).
  json.string(utf8Excerpt(error));
  if (index >= 0) {
    json.key("index");
    json.number(index);
  }
  refField(&json, ref);
  json.endObject();
  return json.take();
}

std::string encodeExpired(const std::string& channel) {
  JsonWriter json;
  json.beginObject();
  json.key("type");
  json.string("expired");
  json.key("channel");
  json.string(channel);
  json.key("status");
  json.number(401);
  json.key("error");
  json.string("token expired");
  json.endObject();
  return json.take();
}

}  // namespace wsproto
}  // namespace rtdemo
