// ConfigReader: rtdemo's one reader of rtdemo.* configuration keys, for
// app/settings.cc and security/security_settings.cc alike.
//
// Each method reads one key into *out, or leaves *out alone (its default)
// when the key is absent. The first bad value is remembered as a Status
// naming the key, the value and what was expected ("bad value 'x' for
// rtdemo.port: expected a number from 0 to 65535"); after it every read is
// skipped, so a loader is a flat list of keys that ends with status(). A
// check of its own (a value that parses but does not fit) goes through
// fail(), which keeps the same first-failure rule.
//
// Thread safety: none; one reader belongs to one load. `config` must
// outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "Poco/Util/AbstractConfiguration.h"
#include "storage/status.h"

namespace rtdemo {

class ConfigReader {
 public:
  explicit ConfigReader(const Poco::Util::AbstractConfiguration& config)
      : config_(config) {}

  // Whole numbers from min to max.
  void integer(const std::string& key, int64_t min, int64_t max, int* out);
  void size(const std::string& key, int64_t min, int64_t max, size_t* out);
  void integer64(const std::string& key, int64_t min, int64_t max, int64_t* out);
  void unsigned64(const std::string& key, int64_t min, int64_t max, uint64_t* out);
  // A decimal number from min to max.
  void decimal(const std::string& key, double min, double max, double* out);
  // on/off, true/false or yes/no, in any case.
  void boolean(const std::string& key, bool* out);
  // The value, trimmed.
  void text(const std::string& key, std::string* out);
  // The value, trimmed, which must be one of `allowed`.
  void oneOf(const std::string& key, std::initializer_list<const char*> allowed,
             std::string* out);

  // Records that `key`'s `value` is not what was `expected`, unless an
  // earlier key already failed.
  void fail(const std::string& key, const std::string& value,
            const std::string& expected);

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  // The trimmed raw value of a present key, when no key has failed yet.
  bool raw(const std::string& key, std::string* out) const;

  const Poco::Util::AbstractConfiguration& config_;
  Status status_;
};

}  // namespace rtdemo
