// One benchmark run (see load_run.h). The phases, in order:
//   connect  open subscribers, at most connect_concurrency still pending, with
//            retries; "subscribed" = SSE head 200 or WebSocket 101 received,
//            or first long poll written (a held poll has no head to wait for).
//   settle   hold still so the server finishes registering everyone; the
//            idle RSS is read at its end (scenario 5).
//   publish  messages are due at start + k / rate, message k on channel
//            k % C; each is stamped when written.
//   drain    wait until everything expected has arrived, or nothing has
//            arrived for drain_ms (at most drain_max_ms).
// A message is expected once per subscriber that was subscribed to its
// channel when publishing began, and only if the publish was answered 2xx.
// A message that arrives late is delivered; one that never arrives (within
// drain_ms of silence) is missing, and consecutive missing ones make a gap.
#include "load_run.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "net_util.h"
#include "poll_client.h"
#include "publisher.h"
#include "subscriber.h"
#include "ws_subscriber.h"

namespace bench {
namespace {

constexpr int kMaxEvents = 1024;
// Per batched receive. Larger reads are rare (the slow subscriber drains
// with its own recv()); a socket with more waiting stays readable and is
// received from again in the next round.
constexpr size_t kBatchSlotBytes = 16 * 1024;

double secondsSince(int64_t t0) { return (nowNs() - t0) / 1e9; }

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

LoadRun::LoadRun(const Options& options)
    : options_(options),
      group_(options.group_dir, options.group_size, options.group_index),
      read_buf_(256 * 1024) {
  for (uint16_t port : options_.ports) {
    sockaddr_in addr{};
    makeAddr(options_.host, port, &addr);
    dsts_.push_back(addr);
  }
  // Members of a group start at different source addresses and servers, so
  // the group's sockets spread as evenly as one process's would.
  next_src_ = static_cast<uint32_t>(options_.group_index * options_.src_addrs /
                                    options_.group_size);
  next_dst_ = static_cast<uint32_t>(options_.group_index);
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  channels_.resize(options_.channels);
  for (int i = 0; i < options_.channels; ++i) {
    channels_[i].name = options_.channel_prefix + "-" + std::to_string(i);
  }
}

LoadRun::~LoadRun() {
  sse_.clear();
  slow_.clear();
  ws_.clear();
  poll_.clear();
  publishers_.clear();
  if (epfd_ >= 0) close(epfd_);
}

// ---- epoll plumbing ----

void LoadRun::watch(int fd, Connection* c, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = c;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    std::fprintf(stderr, "epoll_ctl add: %s\n", std::strerror(errno));
  }
}

void LoadRun::rewatch(int fd, Connection* c, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = c;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void LoadRun::unwatch(int fd) { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

void LoadRun::scheduleRetry(Connection* c, int delay_ms) {
  retries_.emplace(nowNs() + static_cast<int64_t>(delay_ms) * 1000000, c);
}

void LoadRun::runTimers() {
  int64_t now = nowNs();
  while (!retries_.empty() && retries_.begin()->first <= now) {
    Connection* c = retries_.begin()->second;
    retries_.erase(retries_.begin());
    c->onRetry();
  }
}

void LoadRun::receiveNow(Connection* c, int fd) {
  Received when;
  ssize_t n = recvStamped(fd, read_buf_.data(), read_buf_.size(), &when);
  c->onReceived(read_buf_.data(), n, when);
}

bool LoadRun::setUpReceiving() {
  std::string error;
  batch_ = BatchReceiver::create(BatchReceiver::kSlots, kBatchSlotBytes,
                                 options_.recv != RecvMode::kSyscall, &error);
  if (batch_) return true;
  if (options_.recv == RecvMode::kIoUring) {
    std::fprintf(stderr, "loadgen: --recv io-uring: %s\n", error.c_str());
    return false;
  }
  std::fprintf(stderr,
               "loadgen: io_uring unavailable (%s); receiving with one "
               "recvmsg() per socket\n",
               error.c_str());
  batch_ = BatchReceiver::create(BatchReceiver::kSlots, kBatchSlotBytes,
                                 false, &error);
  return true;
}

void LoadRun::pollOnce(int timeout_ms) {
  if (!retries_.empty()) {
    int64_t wait = (retries_.begin()->first - nowNs()) / 1000000 + 1;
    timeout_ms = static_cast<int>(std::max<int64_t>(
        0, std::min<int64_t>(timeout_ms, wait)));
  }
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  // Connections that only receive are queued; the rest (connecting,
  // flushing, publishers) are handled at once. An epoll round reports each
  // connection once, and only a connection's own handler closes its fd, so
  // a queued receive is always made on the socket it was queued for: that
  // handler runs only after the receive, with its outcome.
  for (int i = 0; i < n; ++i) {
    auto* c = static_cast<Connection*>(events[i].data.ptr);
    int fd = c->receiveFd(events[i].events);
    if (fd < 0) {
      c->onEvent(events[i].events);
      continue;
    }
    if (batch_->full()) receiveBatch();
    batch_->add(fd, c);
  }
  receiveBatch();
  runTimers();
}

void LoadRun::receiveBatch() {
  batch_->receiveAll([](void* tag, const char* data, ssize_t got,
                        const Received& when) {
    static_cast<Connection*>(tag)->onReceived(data, got, when);
  });
}

// ---- callbacks from clients ----

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
                        const Received& when, DeliveryTracker* tracker) {
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

void LoadRun::writeTimeline(double* worst_p50_ms) {
  *worst_p50_ms = 0;
  if (options_.timeline_path.empty()) return;
  FILE* f = std::fopen(options_.timeline_path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", options_.timeline_path.c_str());
    return;
  }
  std::sort(samples_.begin(), samples_.end());
  std::sort(arrival_samples_.begin(), arrival_samples_.end());
  // Both vectors are sorted by (message, µs): one cursor each walks the
  // deliveries of message k and yields their count, min, median and max.
  struct Cursor {
    const std::vector<std::pair<uint32_t, uint32_t>>& v;
    size_t i = 0;
    size_t n = 0;
    double mn = 0, med = 0, mx = 0;
    void next(size_t k) {
      size_t j = i;
      while (j < v.size() && v[j].first == k) ++j;
      n = j - i;
      mn = n ? v[i].second / 1000.0 : 0;
      med = n ? v[i + (n - 1) / 2].second / 1000.0 : 0;
      mx = n ? v[j - 1].second / 1000.0 : 0;
      i = j;
    }
  };
  Cursor read{samples_};
  Cursor arrival{arrival_samples_};
  std::fprintf(f, "msg\tchannel\tseq\tsent_ms\treceived\tmin_ms\tp50_ms\t"
                  "max_ms\tarrival_min_ms\tarrival_p50_ms\tarrival_max_ms\n");
  for (size_t k = 0; k < sent_ns_.size(); ++k) {
    read.next(k);
    arrival.next(k);
    if (read.med > *worst_p50_ms) *worst_p50_ms = read.med;
    std::fprintf(f, "%zu\t%zu\t%zu\t%.1f\t%zu\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n",
                 k, k % options_.channels, k / options_.channels,
                 sent_ns_[k] ? (sent_ns_[k] - publish_start_ns_) / 1e6 : -1.0,
                 read.n, read.mn, read.med, read.mx, arrival.mn, arrival.med,
                 arrival.mx);
  }
  std::fclose(f);
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

// ---- phases ----

void LoadRun::startMoreConnects() {
  while (started_ < options_.subs && in_flight_ < options_.connect_concurrency) {
    ++in_flight_;
    if (options_.mode == Mode::kSse) {
      sse_[started_++]->start();
    } else if (options_.mode == Mode::kWs) {
      ws_[started_++]->start();
    } else {
      poll_[started_++]->start();
    }
  }
}

void LoadRun::publishDue() {
  int64_t now = nowNs();
  while (due_count_ < options_.messages) {
    int64_t due = publish_start_ns_ +
                  static_cast<int64_t>(due_count_ * 1e9 / options_.rate);
    if (due > now) break;
    int ch = due_count_ % options_.channels;
    pending_.push_back(Due{ch, channels_[ch].next_seq++, due});
    ++due_count_;
  }
  for (auto& p : publishers_) {
    if (pending_.empty()) break;
    if (!p->ready()) continue;
    Due d = pending_.front();
    pending_.pop_front();
    p->publish(d.channel, d.seq, d.due_ns);
    ++published_count_;
    last_publish_ns_ = nowNs();
  }
}

int LoadRun::publishTimeoutMs() {
  if (due_count_ >= options_.messages) return 10;
  int64_t due = publish_start_ns_ +
                static_cast<int64_t>(due_count_ * 1e9 / options_.rate);
  int64_t wait_ns = due - nowNs();
  if (wait_ns <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(10, (wait_ns + 999999) / 1000000));
}

uint64_t LoadRun::expected() const {
  uint64_t total = 0;
  for (const ChannelState& c : channels_) {
    total += c.published_ok * static_cast<uint64_t>(c.subscribed);
  }
  return total;
}

uint64_t LoadRun::plannedDeliveries() const {
  // Message k goes to channel k mod C.
  const uint64_t n = static_cast<uint64_t>(options_.messages);
  const uint64_t c_count = channels_.size();
  uint64_t total = 0;
  for (uint64_t c = 0; c < c_count; ++c) {
    uint64_t on_c = n / c_count + (c < n % c_count ? 1 : 0);
    total += on_c * static_cast<uint64_t>(channels_[c].subscribed);
  }
  return total;
}

bool LoadRun::allDelivered() const {
  return answered_ == published_count_ &&
         published_count_ == options_.messages &&
         counters_.delivered >= expected();
}

void LoadRun::countGaps(int channel, const DeliveryTracker& tracker) {
  const ChannelState& ch = channels_[channel];
  bool in_gap = false;
  for (uint64_t seq = 0; seq < ch.ok.size(); ++seq) {
    if (!ch.ok[seq]) continue;
    bool missing = !tracker.has(seq);
    if (missing && !in_gap) ++counters_.gaps;
    in_gap = missing;
  }
}

void LoadRun::countAllGaps() {
  for (const auto& c : sse_) {
    if (c->subscribed()) countGaps(c->channel(), c->tracker());
  }
  for (const auto& c : ws_) {
    if (c->subscribed()) countGaps(c->channel(), c->tracker());
  }
  for (const auto& c : poll_) {
    if (c->subscribed()) countGaps(c->channel(), c->tracker());
  }
}

// ---- groups of loadgen processes (load_group.h) ----

template <typename Done>
bool LoadRun::pollUntil(Done done, int64_t deadline_ns) {
  while (!done()) {
    if (nowNs() >= deadline_ns) return false;
    pollOnce(10);
  }
  return true;
}

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
  // done.I last: whoever sees it finds the samples already there.
  group_.put(LoadGroup::member("done", options_.group_index),
             encodeCounters(counters_) + extra);
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
  }
}

void LoadRun::drainSlowSubscribers() {
  for (auto& s : slow_) {
    bool cut = false;
    counters_.slow_bytes += s->drain(options_.slow_drain_ms, &cut);
    if (cut) ++counters_.slow_cut;
  }
}

int LoadRun::run() {
  const Options& o = options_;
  long fd_limit = raiseFdLimit();
  const bool grouped = o.group_size > 1;
  // In a group, member 0 alone publishes (and reads the servers' figures).
  const bool leads = group_.leader();
  long needed = o.subs + o.slow_subs + (leads ? o.publishers : 0) + 16;
  if (fd_limit < needed) {
    std::fprintf(stderr, "need %ld file descriptors, limit is %ld\n", needed,
                 fd_limit);
    return 1;
  }
  if (!setUpReceiving()) return 1;
  std::fprintf(stderr,
               "loadgen: %s %s on %s:%u%s, %d subs over %d channels, %d msgs "
               "at %.1f/s, payload %d B, %d slow",
               serverName(o.server), modeName(o.mode), o.host.c_str(), o.port,
               o.ports.size() > 1
                   ? (" and " + std::to_string(o.ports.size() - 1) + " more ports")
                         .c_str()
                   : "",
               o.subs, o.channels, o.messages, o.rate, o.payload_bytes,
               o.slow_subs);
  if (grouped) {
    std::fprintf(stderr, ", member %d of %d", o.group_index, o.group_size);
  }
  std::fputc('\n', stderr);

  for (int i = 0; i < o.subs; ++i) {
    if (o.mode == Mode::kSse) {
      sse_.push_back(std::make_unique<SseSubscriber>(this, i % o.channels,
                                                     false));
    } else if (o.mode == Mode::kWs) {
      ws_.push_back(std::make_unique<WsSubscriber>(this, i % o.channels));
    } else {
      poll_.push_back(std::make_unique<PollClient>(this, i % o.channels));
    }
  }
  for (int i = 0; leads && i < o.publishers; ++i) {
    publishers_.push_back(std::make_unique<Publisher>(this));
  }
  if (!o.timeline_path.empty()) sent_ns_.assign(o.messages, 0);

  long rss_before = readRssKb(o.server_pids);
  if (grouped && leads) {
    // Everyone else waits for this, so rss_before is read before any
    // member connects; it also hands out the channel names.
    if (!group_.put("go", "prefix=" + o.channel_prefix + "\n")) return 1;
  } else if (grouped) {
    std::string go;
    if (!pollUntil([&] { return group_.get("go", &go); },
                   nowNs() + static_cast<int64_t>(o.connect_timeout_s * 1e9))) {
      std::fprintf(stderr, "loadgen: member %d: member 0 never started\n",
                   o.group_index);
      return 1;
    }
    const std::string prefix = go.substr(7, go.find('\n') - 7);
    for (int i = 0; i < o.channels; ++i) {
      channels_[i].name = prefix + "-" + std::to_string(i);
    }
  }

  // Connect.
  const int64_t t0 = nowNs();
  const int64_t connect_deadline =
      t0 + static_cast<int64_t>(o.connect_timeout_s * 1e9);
  for (auto& p : publishers_) p->start();
  while (settled_ < o.subs && nowNs() < connect_deadline) {
    startMoreConnects();
    pollOnce(10);
  }
  double connect_s =
      counters_.subscribed > 0 ? (last_subscribed_ns_ - t0) / 1e9 : 0;
  std::fprintf(stderr, "loadgen: %d/%d subscribed in %.2f s (%d failures)\n",
               counters_.subscribed, o.subs, connect_s,
               counters_.connect_failures);

  // The slow ones join after everyone else so they do not skew connect time.
  for (int i = 0; i < o.slow_subs; ++i) {
    slow_.push_back(std::make_unique<SseSubscriber>(this, 0, true));
    slow_.back()->start();
  }

  // Settle.
  phase_ = Phase::kSettle;
  const int64_t settle_end = nowNs() + static_cast<int64_t>(o.settle_ms) * 1000000;
  while (nowNs() < settle_end) {
    pollOnce(static_cast<int>(
        std::max<int64_t>(0, (settle_end - nowNs()) / 1000000)));
  }
  if (grouped) {
    group_.put(LoadGroup::member("ready", o.group_index), "");
    if (leads &&
        !pollUntil([&] { return group_.all("ready"); },
                   nowNs() + static_cast<int64_t>(o.connect_timeout_s * 1e9))) {
      std::fprintf(stderr, "loadgen: not every member got ready; publishing "
                           "anyway\n");
    }
  }
  long rss_idle = readRssKb(o.server_pids);

  // Publish. Waiting for the publishers' connects counts toward settle, not
  // toward the publish rate.
  phase_ = Phase::kPublish;
  const int64_t ready_deadline = nowNs() + 5000000000LL;
  while (nowNs() < ready_deadline &&
         std::any_of(publishers_.begin(), publishers_.end(),
                     [](const auto& p) { return !p->ready(); })) {
    pollOnce(10);
  }
  const uint64_t planned = plannedDeliveries();
  latency_.reserve(planned);
  arrival_.reserve(planned);
  if (!o.timeline_path.empty()) {
    reservePrefaulted(&samples_, planned);
    reservePrefaulted(&arrival_samples_, planned);
  }
  publish_start_ns_ = nowNs();
  const double server_cpu0 = readCpuSeconds(o.server_pids);
  const double bus_cpu0 = readCpuSeconds(o.bus_pids);
  const double self_cpu0 = selfCpuSeconds();
  if (!leads && !awaitPublished()) return 1;
  while (leads && published_count_ < o.messages) {
    publishDue();
    pollOnce(publishTimeoutMs());
    if (secondsSince(publish_start_ns_) >
        o.messages / o.rate + o.connect_timeout_s) {
      std::fprintf(stderr, "loadgen: publishing stalled, giving up\n");
      break;
    }
  }
  double publish_s = (last_publish_ns_ - publish_start_ns_) / 1e9;
  if (grouped && leads) {
    // The others count expected messages from this record, so it waits
    // for every answer.
    pollUntil([&] { return answered_ >= published_count_; },
              nowNs() + 30000000000LL);
    group_.put("published", encodePublished());
  }

  // Drain.
  phase_ = Phase::kDrain;
  // A late delivery is not a lost one: wait while messages keep coming.
  const int64_t drain_end =
      nowNs() + static_cast<int64_t>(o.drain_max_ms) * 1000000;
  const int64_t quiet_ns = static_cast<int64_t>(o.drain_ms) * 1000000;
  while (nowNs() < drain_end && !allDelivered() &&
         nowNs() - std::max(last_delivery_ns_, last_publish_ns_) < quiet_ns) {
    pollOnce(10);
  }
  const double drain_s = (nowNs() - last_publish_ns_) / 1e9;
  if (!leads) {
    countAllGaps();
    handOver(connect_s, selfCpuSeconds() - self_cpu0);
    phase_ = Phase::kDone;
    return 0;
  }
  double members_cpu_s = 0;
  if (grouped) mergeMembers(&connect_s, &members_cpu_s);
  long rss_end = readRssKb(o.server_pids);
  const double server_cpu1 = readCpuSeconds(o.server_pids);
  const double server_cpu_s =
      server_cpu0 >= 0 && server_cpu1 >= 0 ? server_cpu1 - server_cpu0 : -1;
  const double bus_cpu1 = readCpuSeconds(o.bus_pids);
  bus_cpu_s_ = bus_cpu0 >= 0 && bus_cpu1 >= 0 ? bus_cpu1 - bus_cpu0 : -1;
  const double self_cpu_s = selfCpuSeconds() - self_cpu0 + members_cpu_s;

  drainSlowSubscribers();
  countAllGaps();
  phase_ = Phase::kDone;
  std::fprintf(stderr, "loadgen: drained %.2f s after the last publish\n",
               drain_s);
  report(connect_s, rss_before, rss_idle, rss_end, publish_s, server_cpu_s,
         self_cpu_s);
  return 0;
}

void LoadRun::report(double connect_s, long rss_before, long rss_idle,
                     long rss_end, double publish_s, double server_cpu_s,
                     double self_cpu_s) {
  const Options& o = options_;
  double worst_p50_ms = 0;
  writeTimeline(&worst_p50_ms);
  latency_.finish();
  arrival_.finish();
  connect_latency_.finish();
  publish_rtt_.finish();
  publish_lag_.finish();
  const Counters& c = counters_;
  // In a group, the subscribers of every member (members_subs_ is 0 alone).
  const int subs = o.subs + members_subs_;
  uint64_t exp = expected() + members_expected_;
  uint64_t missing = exp > c.delivered ? exp - c.delivered : 0;
  uint64_t publish_ok = 0;
  for (const ChannelState& ch : channels_) publish_ok += ch.published_ok;
  double rate = publish_s > 0 ? (published_count_ - 1) / publish_s : 0;
  long per_sub = -1;
  if (rss_before >= 0 && rss_idle >= 0 && c.subscribed > 0) {
    per_sub = (rss_idle - rss_before) * 1024 / c.subscribed;
  }

  std::printf(
      "%s %s: subscribed %d/%d in %.2f s (connect p50 %.1f ms, p99 %.1f ms, "
      "max %.1f ms; %d failed attempts, %d gave up)\n",
      serverName(o.server), modeName(o.mode), c.subscribed, subs, connect_s,
      connect_latency_.percentileMs(50), connect_latency_.percentileMs(99),
      connect_latency_.maxMs(), c.connect_failures, c.gave_up);
  std::printf(
      "  published %d (%llu ok, %llu errors) at %.1f msg/s; answer p50 %.1f "
      "ms, p99 %.1f ms; behind schedule p99 %.1f ms, max %.1f ms\n",
      published_count_, static_cast<unsigned long long>(publish_ok),
      static_cast<unsigned long long>(c.publish_errors), rate,
      publish_rtt_.percentileMs(50), publish_rtt_.percentileMs(99),
      publish_lag_.percentileMs(99), publish_lag_.maxMs());
  std::printf(
      "  delivered %llu/%llu (missing %llu in %llu gaps, %llu late, %llu dups, "
      "%llu disconnects, %llu resets)\n",
      static_cast<unsigned long long>(c.delivered),
      static_cast<unsigned long long>(exp),
      static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(c.gaps),
      static_cast<unsigned long long>(c.late),
      static_cast<unsigned long long>(c.duplicates),
      static_cast<unsigned long long>(c.disconnects),
      static_cast<unsigned long long>(c.resets));
  if (o.mode == Mode::kWs) {
    std::printf("  WebSocket: %llu pings answered, %llu closes from the server, "
                "%llu protocol errors\n",
                static_cast<unsigned long long>(c.ws_pongs),
                static_cast<unsigned long long>(c.ws_closes),
                static_cast<unsigned long long>(c.ws_errors));
  }
  std::printf("  latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              latency_.percentileMs(50), latency_.percentileMs(90),
              latency_.percentileMs(99), latency_.maxMs());
  std::printf("  arrival p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms "
              "(kernel receive timestamps: %llu of %llu deliveries, %llu out "
              "of order with publish and read)\n",
              arrival_.percentileMs(50), arrival_.percentileMs(90),
              arrival_.percentileMs(99), arrival_.maxMs(),
              static_cast<unsigned long long>(c.stamped),
              static_cast<unsigned long long>(c.delivered),
              static_cast<unsigned long long>(c.stamps_outside));
  std::printf("  server RSS %ld kB before, %ld kB idle, %ld kB end; %ld B per "
              "idle subscriber\n",
              rss_before, rss_idle, rss_end, per_sub);
  std::printf("  CPU while publishing and draining: server %.2f s, loadgen "
              "%.2f s (receiving with %s)\n",
              server_cpu_s, self_cpu_s,
              batch_->usesIoUring() ? "io_uring batches"
                                    : "one recvmsg() per socket");
  if (!o.timeline_path.empty()) {
    std::printf("  per-message timeline in %s; worst message median %.1f ms\n",
                o.timeline_path.c_str(), worst_p50_ms);
  }
  if (o.slow_subs > 0) {
    std::printf("  slow subscribers: %d/%d cut off by the server, %llu B read "
                "at the end\n",
                c.slow_cut, o.slow_subs,
                static_cast<unsigned long long>(c.slow_bytes));
  }
  // One machine-readable line for bench/run.sh.
  std::printf(
      "RESULT label=%s server=%s mode=%s subs=%d channels=%d rate=%.1f "
      "subscribed=%d "
      "connect_s=%.3f conn_p50_ms=%.1f conn_p99_ms=%.1f conn_max_ms=%.1f "
      "connect_failures=%d gave_up=%d published=%d publish_ok=%llu "
      "publish_errors=%llu publish_rate=%.1f expected=%llu delivered=%llu "
      "missing=%llu gaps=%llu late=%llu dups=%llu misrouted=%llu "
      "resets=%llu disconnects=%llu polls=%llu poll_reconnects=%llu "
      "http_errors=%llu lat_p50_ms=%.1f lat_p90_ms=%.1f lat_p99_ms=%.1f "
      "lat_max_ms=%.1f rss_before_kb=%ld rss_idle_kb=%ld rss_end_kb=%ld "
      "rss_per_sub_b=%ld slow=%d slow_cut=%d slow_bytes=%llu "
      "delivered_pct=%.2f server_cpu_s=%.2f loadgen_cpu_s=%.2f "
      "pub_p50_ms=%.1f pub_p99_ms=%.1f pub_lag_p99_ms=%.1f ws_pongs=%llu "
      "ws_closes=%llu ws_errors=%llu",
      o.label.empty() ? "-" : o.label.c_str(), serverName(o.server),
      modeName(o.mode), subs, o.channels, o.rate, c.subscribed, connect_s,
      connect_latency_.percentileMs(50), connect_latency_.percentileMs(99),
      connect_latency_.maxMs(), c.connect_failures, c.gave_up,
      published_count_, static_cast<unsigned long long>(publish_ok),
      static_cast<unsigned long long>(c.publish_errors), rate,
      static_cast<unsigned long long>(exp),
      static_cast<unsigned long long>(c.delivered),
      static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(c.gaps),
      static_cast<unsigned long long>(c.late),
      static_cast<unsigned long long>(c.duplicates),
      static_cast<unsigned long long>(c.misrouted),
      static_cast<unsigned long long>(c.resets),
      static_cast<unsigned long long>(c.disconnects),
      static_cast<unsigned long long>(c.polls),
      static_cast<unsigned long long>(c.poll_reconnects),
      static_cast<unsigned long long>(c.http_errors),
      latency_.percentileMs(50), latency_.percentileMs(90),
      latency_.percentileMs(99), latency_.maxMs(), rss_before, rss_idle,
      rss_end, per_sub, o.slow_subs, c.slow_cut,
      static_cast<unsigned long long>(c.slow_bytes),
      exp > 0 ? 100.0 * static_cast<double>(c.delivered) / exp : 0.0,
      server_cpu_s, self_cpu_s, publish_rtt_.percentileMs(50),
      publish_rtt_.percentileMs(99), publish_lag_.percentileMs(99),
      static_cast<unsigned long long>(c.ws_pongs),
      static_cast<unsigned long long>(c.ws_closes),
      static_cast<unsigned long long>(c.ws_errors));
  std::printf(
      " arr_p50_ms=%.1f arr_p90_ms=%.1f arr_p99_ms=%.1f arr_max_ms=%.1f "
      "stamped=%llu stamps_outside=%llu recv=%s procs=%d procs_missing=%d "
      "bus_cpu_s=%.2f\n",
      arrival_.percentileMs(50), arrival_.percentileMs(90),
      arrival_.percentileMs(99), arrival_.maxMs(),
      static_cast<unsigned long long>(c.stamped),
      static_cast<unsigned long long>(c.stamps_outside),
      batch_->usesIoUring() ? "io_uring" : "recvmsg", o.group_size,
      members_missing_, bus_cpu_s_);
  std::fflush(stdout);
}

}  // namespace bench
