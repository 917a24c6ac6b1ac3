// Implementation of the long-poll answer encoding (see poll_answer.h).
#include "service/protocol/poll_answer.h"

#include "Poco/Net/HTTPResponse.h"
#include "service/protocol/json_writer.h"

namespace rtdemo {

std::string encodePollBody(const std::vector<MessagePtr>& messages,
                           const std::string& lastId, bool reset,
                           const std::string& oldest) {
  JsonWriter json;
  json.beginObject();
  json.key("messages");
  json.beginArray();
  for (const MessagePtr& m : messages) {
    json.beginObject();
    json.key("id");
    json.string(m->idText);
    json.key("event");
    json.string(m->event);
    json.key("data");
    json.string(m->data);
    json.key("ts");
    json.number(m->tsMs);
    json.endObject();
  }
  json.endArray();
  json.key("last_id");
  json.string(lastId);
  if (reset) {
    json.key("reset");
    json.boolean(true);
    json.key("oldest");
    json.stringOrNull(oldest);
  }
  json.endObject();
  return json.take();
}

std::string encodeDetachedHead(int status, size_t contentLength, bool keepAlive,
                               const std::string& extraHeaders) {
  const auto httpStatus = static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " +
                    Poco::Net::HTTPResponse::getReasonForStatus(httpStatus) +
                    "\r\n"
                    "Content-Type: application/json\r\n"
                    "Cache-Control: no-cache\r\n";
  out += keepAlive ? "Connection: Keep-Alive\r\n" : "Connection: close\r\n";
  out += extraHeaders;
  out += "Content-Length: " + std::to_string(contentLength) + "\r\n\r\n";
  return out;
}

}  // namespace rtdemo
