// Incremental HTTP/1.1 response reader (see http_response.h).
#include "http_response.h"

#include <strings.h>

#include <cstdlib>
#include <cstring>

namespace bench {
namespace {

// A head larger than this is not something rtdemo or nginx would send.
constexpr size_t kMaxHead = 64 * 1024;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

void HttpResponseReader::reset() {
  state_ = State::kIdle;
  head_buf_.clear();
  line_buf_.clear();
  remaining_ = 0;
  head_ = HttpHead();
  halted_ = true;
}

bool HttpResponseReader::feed(const char* data, size_t len) {
  halted_ = false;
  while (len > 0 && !halted_) {
    switch (state_) {
      case State::kIdle:
        state_ = State::kHead;
        head_buf_.clear();
        [[fallthrough]];
      case State::kHead: {
        // Only scan what is new, plus 3 bytes to catch a CRLFCRLF that
        // straddles two reads.
        size_t old = head_buf_.size();
        head_buf_.append(data, len);
        size_t from = old >= 3 ? old - 3 : 0;
        size_t end = head_buf_.find("\r\n\r\n", from);
        if (end == std::string::npos) {
          if (head_buf_.size() > kMaxHead) return false;
          return true;
        }
        size_t used = end + 4 - old;
        head_buf_.resize(end + 2);
        data += used;
        len -= used;
        if (!parseHead()) return false;
        break;
      }
      case State::kLength: {
        size_t n = len < remaining_ ? len : static_cast<size_t>(remaining_);
        listener_->onBody(data, n);
        data += n;
        len -= n;
        remaining_ -= n;
        if (remaining_ == 0) complete();
        break;
      }
      case State::kUntilEof:
        listener_->onBody(data, len);
        len = 0;
        break;
      case State::kChunkSize:
      case State::kTrailer: {
        const char* nl = static_cast<const char*>(std::memchr(data, '\n', len));
        size_t n = nl ? static_cast<size_t>(nl - data) + 1 : len;
        line_buf_.append(data, n);
        data += n;
        len -= n;
        if (line_buf_.size() > 1024) return false;
        if (!nl) break;
        std::string line = trim(line_buf_);
        line_buf_.clear();
        if (state_ == State::kTrailer) {
          if (line.empty()) complete();
          break;
        }
        char* end = nullptr;
        remaining_ = std::strtoull(line.c_str(), &end, 16);
        if (end == line.c_str()) return false;
        state_ = remaining_ == 0 ? State::kTrailer : State::kChunkData;
        break;
      }
      case State::kChunkData: {
        size_t n = len < remaining_ ? len : static_cast<size_t>(remaining_);
        listener_->onBody(data, n);
        data += n;
        len -= n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kChunkCrlf;
        break;
      }
      case State::kChunkCrlf: {
        // The CRLF after chunk data may arrive split; skip until LF.
        char c = *data++;
        --len;
        if (c == '\n') state_ = State::kChunkSize;
        break;
      }
    }
  }
  return true;
}

bool HttpResponseReader::parseHead() {
  head_ = HttpHead();
  size_t eol = head_buf_.find("\r\n");
  std::string status_line = head_buf_.substr(0, eol);
  if (status_line.compare(0, 5, "HTTP/") != 0) return false;
  bool http11 = status_line.compare(0, 8, "HTTP/1.1") == 0;
  size_t sp = status_line.find(' ');
  if (sp == std::string::npos) return false;
  head_.status = std::atoi(status_line.c_str() + sp + 1);
  head_.keep_alive = http11;

  bool chunked = false;
  bool have_length = false;
  uint64_t length = 0;
  size_t pos = eol + 2;
  while (pos < head_buf_.size()) {
    size_t next = head_buf_.find("\r\n", pos);
    if (next == std::string::npos) next = head_buf_.size();
    std::string line = head_buf_.substr(pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = trim(line.substr(colon + 1));
    const char* n = name.c_str();
    if (strcasecmp(n, "Content-Length") == 0) {
      have_length = true;
      length = std::strtoull(value.c_str(), nullptr, 10);
    } else if (strcasecmp(n, "Transfer-Encoding") == 0) {
      chunked = strcasestr(value.c_str(), "chunked") != nullptr;
    } else if (strcasecmp(n, "Connection") == 0) {
      if (strcasestr(value.c_str(), "close")) head_.keep_alive = false;
      if (strcasestr(value.c_str(), "keep-alive")) head_.keep_alive = true;
    } else if (strcasecmp(n, "Last-Modified") == 0) {
      head_.last_modified = value;
    } else if (strcasecmp(n, "Etag") == 0) {
      head_.etag = value;
    }
  }
  bool no_body = head_.status == 204 || head_.status == 304 ||
                 (head_.status >= 100 && head_.status < 200) ||
                 (have_length && length == 0 && !chunked);
  if (!no_body && !chunked && !have_length) head_.keep_alive = false;
  listener_->onHead(head_);
  if (halted_) return true;
  if (no_body) {
    complete();
  } else if (chunked) {
    state_ = State::kChunkSize;
  } else if (have_length) {
    remaining_ = length;
    state_ = State::kLength;
  } else {
    state_ = State::kUntilEof;
  }
  return true;
}

void HttpResponseReader::complete() {
  state_ = State::kIdle;
  head_buf_.clear();
  listener_->onComplete();
}

bool HttpResponseReader::onEof() {
  if (state_ == State::kUntilEof) {
    complete();
    return true;
  }
  return state_ == State::kIdle;
}

}  // namespace bench
