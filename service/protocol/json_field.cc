// Reading a string member of client JSON (see json_field.h).
#include "service/protocol/json_field.h"

namespace rtdemo {

bool readStringField(const Poco::JSON::Object& obj, const std::string& key,
                     std::string* out, std::string* error, bool* present) {
  bool given = obj.has(key) && !obj.isNull(key);
  if (present) *present = given;
  if (!given) return true;
  Poco::Dynamic::Var v = obj.get(key);
  if (!v.isString()) {
    *error = "field '" + key + "' must be a string";
    return false;
  }
  *out = v.extract<std::string>();
  return true;
}

}  // namespace rtdemo
