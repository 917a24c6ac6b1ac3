// PrometheusText: rtdemo's one writer of Prometheus' text exposition format
// (version 0.0.4), the body of GET /metrics.
//
// The /metrics handler (http/metrics_handler.cc) makes one per scrape and
// gathers into it the families of each part: its own (hub, sends, history,
// publish latency), then security's (security/security_metrics.h). So every
// line of the answer is written here, escaped and formatted one way.
//
// Names follow Prometheus conventions: an rtdemo_ prefix, base units
// (seconds), `_total` on counters, one metric with a label rather than one
// name per value.
//
// Thread safety: none; one writer belongs to one scrape.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace rtdemo {

class PrometheusText {
 public:
  // The # HELP and # TYPE lines that open a family. `type`: counter, gauge
  // or histogram.
  void family(const std::string& name, const char* type, const std::string& help);

  // One sample line. `labels` is empty or already formatted: a="x",b="y"
  // (label values through labelValue()).
  void sample(const std::string& name, const std::string& labels, const std::string& value);
  void sample(const std::string& name, const std::string& labels, uint64_t value);
  void sample(const std::string& name, const std::string& labels, int64_t value);
  // A counter or gauge the hot paths keep as a relaxed atomic.
  void sample(const std::string& name, const std::string& labels,
              const std::atomic<uint64_t>& value);
  void sample(const std::string& name, const std::string& labels,
              const std::atomic<int64_t>& value);

  // A family of one unlabelled sample: its # HELP and # TYPE, then the
  // sample.
  template <typename V>
  void single(const std::string& name, const char* type, const std::string& help,
              const V& value) {
    family(name, type, help);
    sample(name, "", value);
  }

  const std::string& str() const { return out_; }

  // A label value, escaped as the format requires (backslash, quote and
  // newline), without the quotes.
  static std::string labelValue(const std::string& v);
  // A float as "0.00025", "1", "2.5": the same bound always prints the
  // same, so `le` labels match from scrape to scrape.
  static std::string number(double v);

 private:
  std::string out_;
};

}  // namespace rtdemo
