// The Status-to-HTTP mapping (see http_status.h).
#include "service/protocol/http_status.h"

namespace rtdemo {

int httpStatusFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kUnavailable:
      return 503;
    case Status::Code::kNotSupported:
      return 501;
    case Status::Code::kCorruption:
      return 500;
    case Status::Code::kConflict:
      return 409;
  }
  return 500;
}

}  // namespace rtdemo
