// b64url: base64url without padding (RFC 7515), how JWT segments are
// written. The auth tests build hand-made tokens (alg none, a forged
// header) with it, which rtdemo-token would never issue.
#pragma once

#include <sstream>
#include <string>

#include "Poco/Base64Encoder.h"

namespace rtdemo {

inline std::string b64url(const std::string& s) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  enc.rdbuf()->setLineLength(0);
  enc << s;
  enc.close();
  return out.str();
}

}  // namespace rtdemo
