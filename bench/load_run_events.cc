// LoadRun's callbacks from its clients (load_run.h): a subscriber is in or
// failed, a message arrived (its stamp parsed on the reader's hot path), a
// publish was written or answered. What they count is what the report and
// the drain phase read (load_run.cc).
#include "load_run.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "net_util.h"

namespace bench {
namespace {

// Reads "<key><number>;" at *p (before end) into *out and moves *p past it.
template <typename Int>
bool stampField(const char** p, const char* end, const char* key, Int* out) {
  const size_t key_len = std::strlen(key);
  if (static_cast<size_t>(end - *p) < key_len ||
      std::memcmp(*p, key, key_len) != 0) {
    return false;
  }
  auto [next, ec] = std::from_chars(*p + key_len, end, *out);
  if (ec != std::errc() || next == end || *next != ';') return false;
  *p = next + 1;
  return true;
}

// The stamp at the start of a bench payload, "t=<ns>;seq=<n>;c=<channel>;"
// as makePayload() writes it. Parsed in place: this runs once per delivery
// on the reader's critical path, where a heap copy and sscanf() showed up
// in its profile.
bool parseStamp(const char* data, size_t len, int64_t* t, uint64_t* seq,
                int* channel) {
  const char* p = data;
  const char* end = data + len;
  return stampField(&p, end, "t=", t) && stampField(&p, end, "seq=", seq) &&
         stampField(&p, end, "c=", channel);
}

}  // namespace

void LoadRun::onSubscribed(int channel, int64_t connect_ns) {
  ++counters_.subscribed;
  ++channels_[channel].subscribed;
  --in_flight_;
  ++settled_;
  connect_latency_.add(connect_ns);
  last_subscribed_ns_ = nowNs();
}

void LoadRun::onSubscribeFailed(bool final_failure) {
  ++counters_.connect_failures;
  if (final_failure) {
    ++counters_.gave_up;
    --in_flight_;
    ++settled_;
  }
}

void LoadRun::onMessage(int channel, const char* data, size_t len,
                        const Received& when, DeliveryTracker* tracker,
                        bool dropped) {
  const int64_t now_ns = when.read_ns;
  int64_t t = 0;
  uint64_t seq = 0;
  int c = -1;
  if (!parseStamp(data, len, &t, &seq, &c)) return;
  if (c != channel) {
    ++counters_.misrouted;
    return;
  }
  DeliveryTracker::Result r = tracker->add(seq);
  if (r == DeliveryTracker::Result::kDuplicate) {
    ++counters_.duplicates;
    return;
  }
  if (r == DeliveryTracker::Result::kLate) ++counters_.late;
  ++counters_.delivered;
  last_delivery_ns_ = now_ns;
  latency_.add(now_ns - t);
  if (when.arrived_ns != 0) {
    ++counters_.stamped;
    if (when.arrived_ns < t || when.arrived_ns > now_ns) ++counters_.stamps_outside;
    arrival_.add(when.arrived_ns - t);
  }
  if (options_.resume && !dropped) {
    survivor_samples_.emplace_back(
        t, (when.arrived_ns != 0 ? when.arrived_ns : now_ns) - t);
  }
  if (!options_.timeline_path.empty()) {
    uint64_t k = seq * static_cast<uint64_t>(options_.channels) +
                 static_cast<uint64_t>(channel);
    auto us = [](int64_t ns) {
      return static_cast<uint32_t>(ns < 0 ? 0 : ns / 1000);
    };
    samples_.emplace_back(static_cast<uint32_t>(k), us(now_ns - t));
    if (when.arrived_ns != 0) {
      arrival_samples_.emplace_back(static_cast<uint32_t>(k),
                                    us(when.arrived_ns - t));
    }
  }
}

void LoadRun::onPublishWritten(int channel, uint64_t seq, int64_t t_ns,
                               int64_t lag_ns) {
  publish_lag_.add(lag_ns);
  if (options_.timeline_path.empty()) return;
  uint64_t k = seq * static_cast<uint64_t>(options_.channels) +
               static_cast<uint64_t>(channel);
  if (k < sent_ns_.size()) sent_ns_[k] = t_ns;
}

void LoadRun::onPublishAnswered(int channel, uint64_t seq, bool ok,
                                int64_t rtt_ns) {
  ++answered_;
  publish_rtt_.add(rtt_ns);
  if (ok) {
    ChannelState& ch = channels_[channel];
    ++ch.published_ok;
    if (seq >= ch.ok.size()) ch.ok.resize(seq + 1, 0);
    ch.ok[seq] = 1;
  } else {
    ++counters_.publish_errors;
  }
}

}  // namespace bench
