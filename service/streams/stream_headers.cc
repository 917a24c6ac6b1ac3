// The Durable Streams header parsers (see stream_headers.h).
#include "service/streams/stream_headers.h"

#include "service/protocol/validation.h"

#include <cctype>
#include <cstdio>

namespace rtdemo {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// A non-negative decimal without leading zeros, at most `max`.
bool parseCanonicalInt(std::string_view text, int64_t max, int64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  int64_t v = 0;
  for (char c : text) {
    if (!isDigit(c)) return false;
    int d = c - '0';
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Exactly `n` digits at text[pos...].
bool digits(std::string_view text, size_t pos, size_t n, int* out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!isDigit(text[i])) return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysIn(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

}  // namespace

std::string parseTtl(std::string_view text, int64_t* seconds) {
  // Ten years of seconds and more would overflow nothing, but a bound keeps
  // ttl * 1000 + now far from int64's edge.
  constexpr int64_t kMaxTtl = int64_t(1) << 40;
  if (!parseCanonicalInt(text, kMaxTtl, seconds))
    return "Stream-TTL must be a non-negative whole number of seconds, without "
           "sign, leading zeros, fraction or exponent";
  return "";
}

std::string parseSubOffset(std::string_view text, int64_t* value) {
  if (!parseCanonicalInt(text, kMaxSubOffset, value))
    return "Stream-Fork-Sub-Offset must be a non-negative whole number, without sign, "
           "leading zeros, fraction or exponent";
  return "";
}

std::string parseForkSource(std::string_view text, std::string* name) {
  constexpr std::string_view kPrefix = "/v1/stream/";
  if (text.substr(0, kPrefix.size()) != kPrefix)
    return "Stream-Forked-From must be a stream's path, /v1/stream/{name}";
  std::string decoded;
  for (size_t i = kPrefix.size(); i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      auto hex = [](char h) {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = i + 2 < text.size() ? hex(text[i + 1]) : -1;
      int lo = hi >= 0 ? hex(text[i + 2]) : -1;
      if (lo < 0) return "Stream-Forked-From has a malformed percent-escape";
      decoded.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      decoded.push_back(c);
    }
  }
  if (std::string why = checkChannelName(decoded); !why.empty())
    return "Stream-Forked-From: stream name: " + why;
  *name = std::move(decoded);
  return "";
}

std::string parseRfc3339(std::string_view t, int64_t* ms) {
  const std::string bad = "Stream-Expires-At must be an RFC 3339 date-time";
  int year, month, day, hour, minute, second;
  if (!digits(t, 0, 4, &year) || t.size() < 20 || t[4] != '-' ||
      !digits(t, 5, 2, &month) || t[7] != '-' || !digits(t, 8, 2, &day) ||
      (t[10] != 'T' && t[10] != 't') || !digits(t, 11, 2, &hour) || t[13] != ':' ||
      !digits(t, 14, 2, &minute) || t[16] != ':' || !digits(t, 17, 2, &second)) {
    return bad;
  }
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return bad;
  }
  size_t pos = 19;
  int millis = 0;
  if (pos < t.size() && t[pos] == '.') {
    size_t start = ++pos;
    while (pos < t.size() && isDigit(t[pos])) {
      if (pos - start < 3) millis = millis * 10 + (t[pos] - '0');
      ++pos;
    }
    if (pos == start || pos - start > 9) return bad;
    for (size_t n = pos - start; n < 3; ++n) millis *= 10;
  }
  int64_t offsetMinutes = 0;
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    int oh, om;
    if (!digits(t, pos + 1, 2, &oh) || pos + 3 >= t.size() || t[pos + 3] != ':' ||
        !digits(t, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad;
    }
    offsetMinutes = (oh * 60 + om) * (t[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad;
  }
  if (pos != t.size()) return bad;
  if (second == 60) second = 59;  // a leap second: the last second of the minute
  int64_t days = daysFromCivil(year, unsigned(month), unsigned(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  *ms = secs * 1000 + millis;
  return "";
}

std::string formatRfc3339(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int millis = static_cast<int>(ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  civilFromDays(days, &y, &m, &d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<long long>(y), m, d, int(rem / 3600), int(rem / 60 % 60),
                int(rem % 60), millis);
  return buf;
}

std::string parseProducer(const std::optional<std::string>& id,
                          const std::optional<std::string>& epoch,
                          const std::optional<std::string>& seq,
                          std::optional<ProducerClaim>* out) {
  out->reset();
  int present = int(id.has_value()) + int(epoch.has_value()) + int(seq.has_value());
  if (present == 0) return "";
  if (present != 3)
    return "Producer-Id, Producer-Epoch and Producer-Seq must be sent together";
  if (id->empty()) return "Producer-Id must not be empty";
  ProducerClaim claim;
  claim.id = *id;
  if (!parseCanonicalInt(*epoch, kMaxProducerNumber, &claim.epoch))
    return "Producer-Epoch must be a whole number from 0 to 2^53-1";
  if (!parseCanonicalInt(*seq, kMaxProducerNumber, &claim.seq))
    return "Producer-Seq must be a whole number from 0 to 2^53-1";
  *out = std::move(claim);
  return "";
}

std::string normaliseContentType(std::string_view text) {
  size_t end = text.find(';');
  std::string_view type = text.substr(0, end);
  std::string out;
  for (char c : type) {
    if (c == ' ' || c == '\t') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  size_t slash = out.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == out.size() ||
      out.find('/', slash + 1) != std::string::npos) {
    return "";
  }
  return out;
}

bool isTextContentType(std::string_view normalised) {
  return normalised.substr(0, 5) == "text/" || normalised == "application/json";
}

std::string parseFlag(const std::optional<std::string>& text, bool* out) {
  *out = false;
  if (!text) return "";
  std::string lower;
  for (char c : *text) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "true") {
    *out = true;
    return "";
  }
  if (lower == "false") return "";
  return "must be true or false";
}

}  // namespace rtdemo
