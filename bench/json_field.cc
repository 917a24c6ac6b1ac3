// Minimal JSON string-field lookup (see json_field.h).
#include "json_field.h"

namespace bench {

std::string jsonString(const std::string& s, size_t at, size_t* end) {
  std::string out;
  size_t i = at;
  while (i < s.size() && s[i] != '"') {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      char c = s[i];
      out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c);
    } else {
      out.push_back(s[i]);
    }
    ++i;
  }
  *end = i;
  return out;
}

size_t findStringField(const std::string& s, const char* key, size_t from) {
  std::string pat = std::string("\"") + key + "\"";
  for (size_t k = s.find(pat, from); k != std::string::npos;
       k = s.find(pat, k + 1)) {
    size_t i = k + pat.size();
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    if (i >= s.size() || s[i] != ':') continue;
    ++i;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    if (i < s.size() && s[i] == '"') return i + 1;
  }
  return std::string::npos;
}

}  // namespace bench
