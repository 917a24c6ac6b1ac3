// Implementation of the handler helpers (see http_util.h).
#include "service/http/http_util.h"

#include "Poco/Buffer.h"
#include "Poco/Net/HTTPServerRequestImpl.h"
#include "Poco/Net/HTTPServerSession.h"
#include "Poco/String.h"
#include "service/protocol/json_writer.h"

namespace rtdemo {

void sendJson(Poco::Net::HTTPServerResponse& response, int status,
              const std::string& body) {
  response.setStatusAndReason(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType("application/json");
  response.set("Cache-Control", "no-cache");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.sendBuffer(body.data(), body.size());
}

void sendError(Poco::Net::HTTPServerResponse& response, int status,
               const std::string& message) {
  JsonWriter json;
  json.beginObject();
  json.key("error");
  json.string(message);
  json.endObject();
  sendJson(response, status, json.str());
}

std::string takeBuffered(Poco::Net::HTTPServerRequest& request) {
  // Every request our server sees is an HTTPServerRequestImpl.
  Poco::Buffer<char> buffer(0);
  static_cast<Poco::Net::HTTPServerRequestImpl&>(request).session().drainBuffer(buffer);
  return std::string(buffer.begin(), buffer.size());
}

std::string detachedHeaderLines(const Poco::Net::HTTPServerResponse& response) {
  std::string lines;
  for (const auto& h : response) {
    if (Poco::icompare(h.first, "Connection") == 0 ||
        Poco::icompare(h.first, "Content-Type") == 0 ||
        Poco::icompare(h.first, "Content-Length") == 0 ||
        Poco::icompare(h.first, "Cache-Control") == 0 ||
        Poco::icompare(h.first, "Transfer-Encoding") == 0)
      continue;
    lines += h.first + ": " + h.second + "\r\n";
  }
  return lines;
}

DetachedSocket detachSocket(Poco::Net::HTTPServerRequest& request) {
  // Detaching is how POCO 1.11 lets a connection outlive its handler.
  DetachedSocket d;
  d.buffered = takeBuffered(request);
  d.socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(request).detachSocket();
  return d;
}

}  // namespace rtdemo

#include "Poco/URI.h"
#include "service/protocol/validation.h"

namespace rtdemo {

bool parseQuery(const Poco::Net::HTTPServerRequest& request, Query* out,
                std::string* error) {
  try {
    Poco::URI uri(request.getURI());
    for (auto& kv : uri.getQueryParameters()) out->values[kv.first] = kv.second;
    return true;
  } catch (const std::exception& e) {
    *error = "malformed query string";
    return false;
  }
}

bool readSubscribeQuery(const Poco::Net::HTTPServerRequest& request,
                        Poco::Net::HTTPServerResponse& response, Query* query,
                        std::string* channel) {
  std::string error;
  if (parseQuery(request, query, &error)) {
    *channel = query->get("channel", "demo");
    error = checkChannelName(*channel);
  }
  if (error.empty()) return true;
  sendError(response, 400, error);
  return false;
}

}  // namespace rtdemo
