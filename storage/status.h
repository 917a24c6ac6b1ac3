// Status: the result of a Broker operation, as a value.
//
// Backends never throw across the Broker interface; they translate their own
// failures (Poco::Exception, hiredis errors, errno) into one of these in a
// single place per backend. The service maps a Status to an HTTP answer in one
// place too (httpStatusFor, service/protocol/http_status.h), so every error a client
// sees has a stable status code and a JSON reason.
#pragma once

#include <string>
#include <utility>

namespace rtdemo {

class Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,  // the caller's input is wrong; retrying won't help
    kUnavailable,      // the backend cannot serve now (Redis away, disk full)
    kCorruption,       // the stored data cannot be trusted
    kNotSupported,     // the backend does not offer this feature
    kConflict,         // refused by the target's state (a closed stream)
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status Unavailable(std::string msg) {
    return Status(Code::kUnavailable, std::move(msg));
  }
  static Status Corruption(std::string msg) {
    return Status(Code::kCorruption, std::move(msg));
  }
  static Status NotSupported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }
  static Status Conflict(std::string msg) {
    return Status(Code::kConflict, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string toString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace rtdemo
