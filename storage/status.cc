// Human-readable rendering of a Status, for logs and error lines.
#include "storage/status.h"

namespace rtdemo {

std::string Status::toString() const {
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "invalid argument: " + message_;
    case Code::kUnavailable:
      return "unavailable: " + message_;
    case Code::kCorruption:
      return "corruption: " + message_;
    case Code::kNotSupported:
      return "not supported: " + message_;
    case Code::kConflict:
      return "conflict: " + message_;
  }
  return message_;
}

}  // namespace rtdemo
