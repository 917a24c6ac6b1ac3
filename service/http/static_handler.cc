// GET / and GET /static/...: files from the web root.
//
// Only two shapes of path are served: "/" (index.html) and "/static/<file>"
// below web/static. Any segment that is empty, "." or ".." is refused before
// the file system is asked, and the resolved path must still lie under the
// web root, so no request can read outside it.
#include "Poco/DateTimeFormat.h"
#include "Poco/DateTimeFormatter.h"
#include "Poco/DateTimeParser.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/String.h"
#include "Poco/StringTokenizer.h"
#include "service/http/handlers.h"
#include "service/http/http_util.h"

namespace rtdemo {
namespace {

std::string contentTypeFor(const std::string& path) {
  std::string ext = Poco::toLower(Poco::Path(path).getExtension());
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// Maps a decoded URL path to a path relative to the web root, or "".
std::string relativePathFor(const std::string& urlPath) {
  if (urlPath == "/" || urlPath == "/index.html") return "index.html";
  const std::string prefix = "/static/";
  if (urlPath.compare(0, prefix.size(), prefix) != 0) return "";
  std::string rest = urlPath.substr(prefix.size());
  if (rest.empty() || rest.find('\0') != std::string::npos ||
      rest.find('\\') != std::string::npos)
    return "";
  Poco::StringTokenizer parts(rest, "/");
  for (const std::string& part : parts) {
    if (part.empty() || part == "." || part == "..") return "";
  }
  return "static/" + rest;
}

}  // namespace

void StaticFileHandler::handle(Poco::Net::HTTPServerRequest& request,
                               Poco::Net::HTTPServerResponse& response) {
  std::string rel = relativePathFor(path_);
  if (rel.empty()) {
    sendError(response, 404, "not found");
    return;
  }
  Poco::Path full(ctx_->settings.webRoot);
  full.append(Poco::Path(rel, Poco::Path::PATH_UNIX));
  Poco::File file(full);
  if (!file.exists() || !file.isFile()) {
    sendError(response, 404, "not found");
    return;
  }
  Poco::Timestamp modified = file.getLastModified();
  // Revalidate every time: the demo's files change while people develop.
  response.set("Cache-Control", "no-cache");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Last-Modified",
               Poco::DateTimeFormatter::format(modified, Poco::DateTimeFormat::HTTP_FORMAT));
  if (request.has("If-Modified-Since")) {
    Poco::DateTime since;
    int tz = 0;
    if (Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT,
                                       request.get("If-Modified-Since"), since, tz) &&
        modified.epochTime() <= since.timestamp().epochTime()) {
      response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
      response.setContentLength(0);
      response.send();
      return;
    }
  }
  response.sendFile(full.toString(), contentTypeFor(rel));
}

}  // namespace rtdemo
