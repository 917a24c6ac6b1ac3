// The Prometheus text writer (see prometheus_text.h).
#include "service/metrics/prometheus_text.h"

#include <cstdio>

namespace rtdemo {

void PrometheusText::family(const std::string& name, const char* type,
                            const std::string& help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusText::sample(const std::string& name, const std::string& labels,
                            const std::string& value) {
  out_ += name;
  if (!labels.empty()) out_ += "{" + labels + "}";
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void PrometheusText::sample(const std::string& name, const std::string& labels,
                            uint64_t value) {
  sample(name, labels, std::to_string(value));
}

void PrometheusText::sample(const std::string& name, const std::string& labels,
                            int64_t value) {
  sample(name, labels, std::to_string(value));
}

void PrometheusText::sample(const std::string& name, const std::string& labels,
                            const std::atomic<uint64_t>& value) {
  sample(name, labels, value.load(std::memory_order_relaxed));
}

void PrometheusText::sample(const std::string& name, const std::string& labels,
                            const std::atomic<int64_t>& value) {
  sample(name, labels, value.load(std::memory_order_relaxed));
}

std::string PrometheusText::labelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string PrometheusText::number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace rtdemo
