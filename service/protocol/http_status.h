// httpStatusFor: the one place a Status (storage/status.h) becomes an HTTP
// status code, for every answer that reports a backend's failure: the
// handlers' JSON errors (http/), and the answers and WebSocket errors a hub
// loop writes itself.
//
//   kInvalidArgument 400   kUnavailable 503   kNotSupported 501
//   kCorruption      500   kOk          200
//   kConflict        409
//
// Thread safety: a pure function.
#pragma once

#include "storage/status.h"

namespace rtdemo {

int httpStatusFor(const Status& status);

}  // namespace rtdemo
