// Reading rtdemo.* keys (see config_reader.h).
#include "service/config/config_reader.h"

#include "Poco/NumberParser.h"
#include "Poco/String.h"

namespace rtdemo {

bool ConfigReader::raw(const std::string& key, std::string* out) const {
  if (!status_.ok() || !config_.hasProperty(key)) return false;
  *out = Poco::trim(config_.getRawString(key));
  return true;
}

void ConfigReader::integer(const std::string& key, int64_t min, int64_t max,
                           int* out) {
  int64_t v = *out;
  integer64(key, min, max, &v);
  *out = static_cast<int>(v);
}

void ConfigReader::size(const std::string& key, int64_t min, int64_t max,
                        size_t* out) {
  int64_t v = static_cast<int64_t>(*out);
  integer64(key, min, max, &v);
  *out = static_cast<size_t>(v);
}

void ConfigReader::unsigned64(const std::string& key, int64_t min, int64_t max,
                              uint64_t* out) {
  int64_t v = static_cast<int64_t>(*out);
  integer64(key, min, max, &v);
  *out = static_cast<uint64_t>(v);
}

void ConfigReader::integer64(const std::string& key, int64_t min, int64_t max,
                             int64_t* out) {
  std::string value;
  if (!raw(key, &value)) return;
  Poco::Int64 v = 0;
  if (!Poco::NumberParser::tryParse64(value, v)) {
    fail(key, value, "a whole number");
    return;
  }
  if (v < min || v > max) {
    fail(key, value,
         "a number from " + std::to_string(min) + " to " + std::to_string(max));
    return;
  }
  *out = v;
}

void ConfigReader::decimal(const std::string& key, double min, double max,
                           double* out) {
  std::string value;
  if (!raw(key, &value)) return;
  double v = 0;
  if (!Poco::NumberParser::tryParseFloat(value, v) || !(v >= min && v <= max)) {
    fail(key, value,
         "a number from " + std::to_string(min) + " to " + std::to_string(max));
    return;
  }
  *out = v;
}

void ConfigReader::boolean(const std::string& key, bool* out) {
  std::string value;
  if (!raw(key, &value)) return;
  value = Poco::toLower(value);
  if (value == "on" || value == "true" || value == "yes")
    *out = true;
  else if (value == "off" || value == "false" || value == "no")
    *out = false;
  else
    fail(key, value, "on or off");
}

void ConfigReader::text(const std::string& key, std::string* out) {
  if (!status_.ok() || !config_.hasProperty(key)) return;
  // getString, not the raw value: ${other.key} references are expanded.
  *out = Poco::trim(config_.getString(key));
}

void ConfigReader::oneOf(const std::string& key,
                         std::initializer_list<const char*> allowed,
                         std::string* out) {
  std::string v = *out;
  text(key, &v);
  if (!status_.ok()) return;
  std::string expected;
  for (const char* a : allowed) {
    if (v == a) {
      *out = v;
      return;
    }
    expected += expected.empty() ? a : std::string(", ") + a;
  }
  fail(key, v, "one of: " + expected);
}

void ConfigReader::fail(const std::string& key, const std::string& value,
                        const std::string& expected) {
  if (!status_.ok()) return;
  status_ = Status::InvalidArgument("bad value '" + value + "' for " + key +
                                    ": expected " + expected);
}

}  // namespace rtdemo
