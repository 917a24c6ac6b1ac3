// Implementation of load_group.h.
#include "load_group.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <utility>

namespace bench {

LoadGroup::LoadGroup(std::string dir, int size, int index)
    : dir_(std::move(dir)), size_(size), index_(index) {}

std::string LoadGroup::member(const char* what, int i) {
  return std::string(what) + "." + std::to_string(i);
}

std::string LoadGroup::path(const std::string& name) const {
  return dir_ + "/" + name;
}

bool LoadGroup::put(const std::string& name, const std::string& content) const {
  const std::string tmp = path("." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) {
      std::fprintf(stderr, "loadgen: cannot write %s\n", tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path(name).c_str()) != 0) {
    std::fprintf(stderr, "loadgen: cannot rename %s: %s\n", tmp.c_str(),
                 std::strerror(errno));
    return false;
  }
  return true;
}

bool LoadGroup::get(const std::string& name, std::string* content) const {
  std::ifstream in(path(name), std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *content = ss.str();
  return true;
}

bool LoadGroup::all(const char* what) const {
  for (int i = 0; i < size_; ++i) {
    if (access(path(member(what, i)).c_str(), F_OK) != 0) return false;
  }
  return true;
}

bool LoadGroup::putSamples(const char* kind,
                           const std::vector<uint32_t>& v) const {
  std::string bytes(reinterpret_cast<const char*>(v.data()),
                    v.size() * sizeof(uint32_t));
  return put(member(kind, index_) + ".samples", bytes);
}

bool LoadGroup::getSamples(const char* kind, int i,
                           std::vector<uint32_t>* v) const {
  std::string bytes;
  if (!get(member(kind, i) + ".samples", &bytes)) return false;
  const size_t n = bytes.size() / sizeof(uint32_t);
  const size_t old = v->size();
  v->resize(old + n);
  std::memcpy(v->data() + old, bytes.data(), n * sizeof(uint32_t));
  return true;
}

std::string encodeCounters(const Counters& c) {
  std::string out;
  forEachCounter(c, [&](const char* name, const auto& v) {
    out += std::string(name) + "=" + std::to_string(v) + "\n";
  });
  return out;
}

double fieldOf(const std::string& text, const std::string& key) {
  const std::string want = key + "=";
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, want.size(), want) == 0) {
      return std::strtod(line.c_str() + want.size(), nullptr);
    }
  }
  return 0;
}

void addCounters(const std::string& text, Counters* c) {
  forEachCounter(*c, [&](const char* name, auto& v) {
    v += static_cast<std::remove_reference_t<decltype(v)>>(fieldOf(text, name));
  });
}

}  // namespace bench
