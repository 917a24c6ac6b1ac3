// LoadGroup: several rtdemo_loadgen processes that act as one run.
//
// One process may hold at most 20,000 descriptors here, so 100,000
// subscribers need six loadgens. They meet in a directory that bench/run.sh
// makes for them, through small files each written whole (a temporary name,
// then rename(), so a reader never sees half a file):
//   go            member 0 read the servers' RSS before anyone connected;
//                 holds the channel prefix, so all use the same channels
//   ready.I       member I has subscribed everyone it could and settled
//   published     member 0 has published and had every answer; holds which
//                 sequences of each channel were answered 2xx, so that every
//                 member counts expected and missing messages alike
//   done.I        member I has drained; holds its counters (counters.h)
//   *.I.samples   its latency, arrival and connect samples (uint32 µs each)
// Member 0 publishes, waits for every done.I, adds the counters up, merges
// the samples (percentiles stay exact) and prints the one report.
//
// Threading: used from the loadgen's one thread. Every wait is bounded by
// the caller, which keeps its epoll loop turning meanwhile.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "counters.h"

namespace bench {

class LoadGroup {
 public:
  LoadGroup(std::string dir, int size, int index);

  int size() const { return size_; }
  int index() const { return index_; }
  bool leader() const { return index_ == 0; }

  // "ready.3" for member("ready", 3).
  static std::string member(const char* what, int i);

  // Writes DIR/name whole; false (and one line on stderr) if it cannot.
  bool put(const std::string& name, const std::string& content) const;
  // Reads DIR/name; false if it is not there (yet).
  bool get(const std::string& name, std::string* content) const;
  // Whether every member i has written member(what, i).
  bool all(const char* what) const;

  // Samples of one kind ("lat", "arr", "conn") of member i.
  bool putSamples(const char* kind, const std::vector<uint32_t>& v) const;
  bool getSamples(const char* kind, int i, std::vector<uint32_t>* v) const;

 private:
  std::string path(const std::string& name) const;

  const std::string dir_;
  const int size_;
  const int index_;
};

// "key=value" lines for every counter (forEachCounter), and extra lines.
std::string encodeCounters(const Counters& c);
// Adds the counters found in text to *c; unknown keys are ignored.
void addCounters(const std::string& text, Counters* c);
// The value of "key=value" in text, or 0.
double fieldOf(const std::string& text, const std::string& key);

}  // namespace bench
