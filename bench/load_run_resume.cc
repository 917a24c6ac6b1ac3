// LoadRun's kill-one measurement (--resume, --kill-pid): member 0 SIGKILLs
// one server while every subscriber streams; the subscribers whose streams
// drop (the killed instance's clients) reconnect with Last-Event-ID as an
// EventSource does (subscriber.h), and this file counts what that took:
//   - dropped / resumed: streams lost, and reopened with a 200;
//   - resume_all_s: from the kill (or the first drop, with no --kill-pid) to
//     the last reopen, over every process of a group;
//   - per resume, lost -> reopened (resume p50/p99/max);
//   - subscribers that resumed but miss a message (gapped) or got one twice
//     (duped): the servers' promise is that both are 0;
//   - arrival p99 of the subscribers that never dropped, for messages
//     published before the first drop, and for those published between the
//     first drop and the last resume ("during the storm"). Each process of a
//     group splits its own samples at its own first drop and last resume.
#include <dirent.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "load_run.h"
#include "net_util.h"
#include "subscriber.h"

namespace bench {

namespace {

// Descriptors process pid has open; -1 if it cannot be read.
int openFds(int pid) {
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

}  // namespace

void LoadRun::killIfDue() {
  if (options_.kill_pids.empty() || kill_ns_ != 0) return;
  if (nowNs() - publish_start_ns_ <
      static_cast<int64_t>(options_.kill_after_s * 1e9)) {
    return;
  }
  // The busiest instance: the storm is biggest when it dies.
  int victim = options_.kill_pids.front();
  int most = -1;
  for (int pid : options_.kill_pids) {
    int n = openFds(pid);
    if (n > most) {
      most = n;
      victim = pid;
    }
  }
  kill_ns_ = nowNs();
  if (kill(victim, SIGKILL) != 0) {
    std::fprintf(stderr, "loadgen: SIGKILL to %d: %s\n", victim,
                 std::strerror(errno));
    return;
  }
  std::fprintf(stderr,
               "loadgen: SIGKILL to %d (%d descriptors open), %.1f s into "
               "publishing\n",
               victim, most, (kill_ns_ - publish_start_ns_) / 1e9);
}

void LoadRun::onStreamDropped() {
  ++counters_.dropped;
  if (first_drop_ns_ == 0) first_drop_ns_ = nowNs();
}

void LoadRun::onResumed(int64_t downtime_ns) {
  ++counters_.resumed;
  resume_.add(downtime_ns);
  last_resume_ns_ = nowNs();
}

void LoadRun::finishResumes() {
  if (!options_.resume) return;
  for (const auto& s : sse_) {
    if (!s->everDropped()) continue;
    if (s->tracker().duplicates() > 0) ++counters_.subs_duped;
    const ChannelState& ch = channels_[s->channel()];
    for (uint64_t seq = 0; seq < ch.ok.size(); ++seq) {
      if (ch.ok[seq] && !s->tracker().has(seq)) {
        ++counters_.subs_gapped;
        break;
      }
    }
  }
  for (const auto& [t, latency] : survivor_samples_) {
    if (first_drop_ns_ == 0 || t < first_drop_ns_) {
      before_.add(latency);
    } else if (t <= last_resume_ns_) {
      storm_.add(latency);
    }
  }
  survivor_samples_.clear();
}

std::string LoadRun::encodeResumes() const {
  return "first_drop_ns=" + std::to_string(first_drop_ns_) +
         "\nlast_resume_ns=" + std::to_string(last_resume_ns_) + "\n";
}

void LoadRun::mergeResumes(const std::string& text, int member) {
  if (!options_.resume) return;
  const auto first = static_cast<int64_t>(fieldOf(text, "first_drop_ns"));
  const auto last = static_cast<int64_t>(fieldOf(text, "last_resume_ns"));
  if (first != 0 && (first_drop_ns_ == 0 || first < first_drop_ns_)) {
    first_drop_ns_ = first;
  }
  last_resume_ns_ = std::max(last_resume_ns_, last);
  group_.getSamples("resume", member, resume_.mutableSamples());
  group_.getSamples("before", member, before_.mutableSamples());
  group_.getSamples("storm", member, storm_.mutableSamples());
}

void LoadRun::reportResumes() {
  if (!options_.resume) return;
  resume_.finish();
  before_.finish();
  storm_.finish();
  const Counters& c = counters_;
  const int64_t from = kill_ns_ != 0 ? kill_ns_ : first_drop_ns_;
  const double all_s =
      from != 0 && last_resume_ns_ >= from ? (last_resume_ns_ - from) / 1e9 : -1;
  const double pct = c.dropped > 0 ? 100.0 * c.resumed / c.dropped : 0;
  // The human lines go before the RESULT line's tail: print them to stderr,
  // which run.sh shows, so stdout keeps one RESULT line.
  std::fprintf(stderr,
               "loadgen: resume: %llu/%llu dropped streams reopened (%.2f%%), "
               "the last %.2f s after the %s; per stream p50 %.0f ms, p99 %.0f "
               "ms, max %.0f ms; %llu failed attempts; %llu resumed with a gap, "
               "%llu with a duplicate\n",
               static_cast<unsigned long long>(c.resumed),
               static_cast<unsigned long long>(c.dropped), pct, all_s,
               kill_ns_ != 0 ? "kill" : "first drop", resume_.percentileMs(50),
               resume_.percentileMs(99), resume_.maxMs(),
               static_cast<unsigned long long>(c.resume_failures),
               static_cast<unsigned long long>(c.subs_gapped),
               static_cast<unsigned long long>(c.subs_duped));
  std::fprintf(stderr,
               "loadgen: subscribers that never dropped: arrival p99 %.1f ms "
               "before the first drop (%zu deliveries), %.1f ms from it to the "
               "last resume (%zu)\n",
               before_.percentileMs(99), before_.count(),
               storm_.percentileMs(99), storm_.count());
  std::printf(
      " dropped=%llu resumed=%llu resumed_pct=%.2f resume_failures=%llu "
      "resume_all_s=%.3f resume_p50_ms=%.1f resume_p99_ms=%.1f "
      "resume_max_ms=%.1f subs_gapped=%llu subs_duped=%llu "
      "before_p99_ms=%.1f storm_p99_ms=%.1f storm_n=%zu killed=%d",
      static_cast<unsigned long long>(c.dropped),
      static_cast<unsigned long long>(c.resumed), pct,
      static_cast<unsigned long long>(c.resume_failures), all_s,
      resume_.percentileMs(50), resume_.percentileMs(99), resume_.maxMs(),
      static_cast<unsigned long long>(c.subs_gapped),
      static_cast<unsigned long long>(c.subs_duped), before_.percentileMs(99),
      storm_.percentileMs(99), storm_.count(), kill_ns_ != 0 ? 1 : 0);
}

}  // namespace bench
