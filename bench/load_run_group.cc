// LoadRun as one member of a group of loadgen processes (load_group.h):
// member 0 publishes, tells the others what it published, and merges their
// counters and raw samples into the one report; the others hand theirs over.
#include "load_run.h"

#include <cstdio>
#include <cstring>
#include <sstream>

#include "net_util.h"

namespace bench {

std::string LoadRun::encodePublished() const {
  std::string out = "written=" + std::to_string(published_count_) +
                    "\nanswered=" + std::to_string(answered_) + "\n";
  for (size_t i = 0; i < channels_.size(); ++i) {
    out += "ch" + std::to_string(i) + " ";
    for (char ok : channels_[i].ok) out += ok ? '1' : '0';
    out += "\n";
  }
  return out;
}

bool LoadRun::awaitPublished() {
  const Options& o = options_;
  std::string text;
  const int64_t deadline =
      nowNs() + static_cast<int64_t>((o.messages / o.rate + o.connect_timeout_s +
                                      60) * 1e9);
  if (!pollUntil([&] { return group_.get("published", &text); }, deadline)) {
    std::fprintf(stderr, "loadgen: member %d: member 0 never published\n",
                 o.group_index);
    return false;
  }
  published_count_ = static_cast<int>(fieldOf(text, "written"));
  answered_ = static_cast<int>(fieldOf(text, "answered"));
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 2, "ch") != 0) continue;
    size_t space = line.find(' ');
    size_t i = std::strtoul(line.c_str() + 2, nullptr, 10);
    if (space == std::string::npos || i >= channels_.size()) continue;
    ChannelState& ch = channels_[i];
    ch.ok.clear();
    ch.published_ok = 0;
    for (size_t k = space + 1; k < line.size(); ++k) {
      ch.ok.push_back(line[k] == '1');
      ch.published_ok += line[k] == '1';
    }
  }
  last_publish_ns_ = nowNs();
  return true;
}

void LoadRun::handOver(double connect_s, double self_cpu_s) {
  char extra[160];
  std::snprintf(extra, sizeof(extra),
                "subs=%d\nexpected=%llu\nconnect_s=%.6f\nself_cpu_s=%.6f\n",
                options_.subs, static_cast<unsigned long long>(expected()),
                connect_s,
                self_cpu_s);
  group_.putSamples("lat", latency_.samples());
  group_.putSamples("arr", arrival_.samples());
  group_.putSamples("conn", connect_latency_.samples());
  if (options_.resume) {
    group_.putSamples("resume", resume_.samples());
    group_.putSamples("before", before_.samples());
    group_.putSamples("storm", storm_.samples());
  }
  // done.I last: whoever sees it finds the samples already there.
  group_.put(LoadGroup::member("done", options_.group_index),
             encodeCounters(counters_) + extra + encodeResumes());
  std::printf("loadgen member %d: subscribed %d/%d, delivered %llu/%llu\n",
              options_.group_index, counters_.subscribed, options_.subs,
              static_cast<unsigned long long>(counters_.delivered),
              static_cast<unsigned long long>(expected()));
}

void LoadRun::mergeMembers(double* connect_s, double* self_cpu_s) {
  const Options& o = options_;
  auto allDone = [&] {
    for (int i = 1; i < o.group_size; ++i) {
      std::string unused;
      if (!group_.get(LoadGroup::member("done", i), &unused)) return false;
    }
    return true;
  };
  const int64_t deadline =
      nowNs() + (static_cast<int64_t>(o.drain_max_ms) + 60000) * 1000000;
  pollUntil(allDone, deadline);
  for (int i = 1; i < o.group_size; ++i) {
    std::string text;
    if (!group_.get(LoadGroup::member("done", i), &text)) {
      std::fprintf(stderr, "loadgen: member %d never reported\n", i);
      ++members_missing_;
      continue;
    }
    addCounters(text, &counters_);
    members_expected_ += static_cast<uint64_t>(fieldOf(text, "expected"));
    members_subs_ += static_cast<int>(fieldOf(text, "subs"));
    *connect_s = std::max(*connect_s, fieldOf(text, "connect_s"));
    *self_cpu_s += fieldOf(text, "self_cpu_s");
    group_.getSamples("lat", i, latency_.mutableSamples());
    group_.getSamples("arr", i, arrival_.mutableSamples());
    group_.getSamples("conn", i, connect_latency_.mutableSamples());
    mergeResumes(text, i);
  }
}

}  // namespace bench
