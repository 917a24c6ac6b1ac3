// One benchmark run (see load_run.h). The phases, in order:
//   connect  open subscribers, at most connect_concurrency still pending, with
//            retries; "subscribed" = SSE head 200 received, or first long
//            poll written (a held poll has no head to wait for).
//   settle   hold still so the server finishes registering everyone; the
//            idle RSS is read at its end (scenario 5).
//   publish  messages are due at start + k / rate, message k on channel
//            k % C; each is stamped when written.
//   drain    wait until everything expected has arrived, or drain_ms.
// A message is expected once per subscriber that was subscribed to its
// channel when publishing began, and only if the publish was answered 2xx.
#include "load_run.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "net_util.h"
#include "poll_client.h"
#include "publisher.h"
#include "subscriber.h"

namespace bench {
namespace {

constexpr int kMaxEvents = 1024;

double secondsSince(int64_t t0) { return (nowNs() - t0) / 1e9; }

}  // namespace

LoadRun::LoadRun(const Options& options)
    : options_(options), read_buf_(256 * 1024) {
  makeAddr(options_.host, options_.port, &dst_);
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  channels_.resize(options_.channels);
  for (int i = 0; i < options_.channels; ++i) {
    channels_[i].name = options_.channel_prefix + "-" + std::to_string(i);
  }
}

LoadRun::~LoadRun() {
  sse_.clear();
  slow_.clear();
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

void LoadRun::pollOnce(int timeout_ms) {
  if (!retries_.empty()) {
    int64_t wait = (retries_.begin()->first - nowNs()) / 1000000 + 1;
    timeout_ms = static_cast<int>(std::max<int64_t>(
        0, std::min<int64_t>(timeout_ms, wait)));
  }
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < n; ++i) {
    static_cast<Connection*>(events[i].data.ptr)->onEvent(events[i].events);
  }
  runTimers();
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
                        int64_t now_ns, int64_t* last_seq) {
  // "t=<ns>;seq=<n>;c=<channel>;" — written by makePayload().
  std::string s(data, std::min<size_t>(len, 96));
  long long t = 0;
  unsigned long long seq = 0;
  int c = -1;
  if (std::sscanf(s.c_str(), "t=%lld;seq=%llu;c=%d;", &t, &seq, &c) != 3) {
    return;
  }
  if (c != channel) {
    ++counters_.misrouted;
    return;
  }
  int64_t sq = static_cast<int64_t>(seq);
  if (sq <= *last_seq) {
    ++counters_.duplicates;
    return;
  }
  if (sq != *last_seq + 1) {
    ++counters_.gaps;
    counters_.gap_messages += static_cast<uint64_t>(sq - *last_seq - 1);
  }
  *last_seq = sq;
  ++counters_.delivered;
  latency_.add(now_ns - t);
}

void LoadRun::onPublishAnswered(int channel, bool ok) {
  ++answered_;
  if (ok) {
    ++channels_[channel].published_ok;
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
    pending_[ch % pending_.size()].emplace_back(ch, channels_[ch].next_seq++);
    ++due_count_;
  }
  for (size_t i = 0; i < publishers_.size(); ++i) {
    if (pending_[i].empty() || !publishers_[i]->ready()) continue;
    auto [ch, seq] = pending_[i].front();
    pending_[i].pop_front();
    publishers_[i]->publish(ch, seq);
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

bool LoadRun::allDelivered() const {
  return answered_ == published_count_ &&
         published_count_ == options_.messages &&
         counters_.delivered >= expected();
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
  long needed = o.subs + o.slow_subs + o.publishers + 16;
  if (fd_limit < needed) {
    std::fprintf(stderr, "need %ld file descriptors, limit is %ld\n", needed,
                 fd_limit);
    return 1;
  }
  std::fprintf(stderr,
               "loadgen: %s %s on %s:%u, %d subs over %d channels, %d msgs "
               "at %.1f/s, payload %d B, %d slow\n",
               serverName(o.server), modeName(o.mode), o.host.c_str(), o.port,
               o.subs, o.channels, o.messages, o.rate, o.payload_bytes,
               o.slow_subs);

  for (int i = 0; i < o.subs; ++i) {
    if (o.mode == Mode::kSse) {
      sse_.push_back(std::make_unique<SseSubscriber>(this, i % o.channels,
                                                     false));
    } else {
      poll_.push_back(std::make_unique<PollClient>(this, i % o.channels));
    }
  }
  for (int i = 0; i < o.publishers; ++i) {
    publishers_.push_back(std::make_unique<Publisher>(this));
  }
  pending_.resize(publishers_.size());

  long rss_before = readRssKb(o.server_pids);

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
  publish_start_ns_ = nowNs();
  while (published_count_ < o.messages) {
    publishDue();
    pollOnce(publishTimeoutMs());
    if (secondsSince(publish_start_ns_) >
        o.messages / o.rate + o.connect_timeout_s) {
      std::fprintf(stderr, "loadgen: publishing stalled, giving up\n");
      break;
    }
  }
  double publish_s = (last_publish_ns_ - publish_start_ns_) / 1e9;

  // Drain.
  phase_ = Phase::kDrain;
  const int64_t drain_end = nowNs() + static_cast<int64_t>(o.drain_ms) * 1000000;
  while (nowNs() < drain_end && !allDelivered()) pollOnce(10);
  long rss_end = readRssKb(o.server_pids);

  drainSlowSubscribers();
  phase_ = Phase::kDone;
  report(connect_s, rss_before, rss_idle, rss_end, publish_s);
  return 0;
}

void LoadRun::report(double connect_s, long rss_before, long rss_idle,
                     long rss_end, double publish_s) {
  const Options& o = options_;
  latency_.finish();
  connect_latency_.finish();
  const Counters& c = counters_;
  uint64_t exp = expected();
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
      serverName(o.server), modeName(o.mode), c.subscribed, o.subs, connect_s,
      connect_latency_.percentileMs(50), connect_latency_.percentileMs(99),
      connect_latency_.maxMs(), c.connect_failures, c.gave_up);
  std::printf(
      "  published %d (%llu ok, %llu errors) at %.1f msg/s; delivered "
      "%llu/%llu (missing %llu, %llu gaps, %llu dups, %llu disconnects)\n",
      published_count_, static_cast<unsigned long long>(publish_ok),
      static_cast<unsigned long long>(c.publish_errors), rate,
      static_cast<unsigned long long>(c.delivered),
      static_cast<unsigned long long>(exp),
      static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(c.gaps),
      static_cast<unsigned long long>(c.duplicates),
      static_cast<unsigned long long>(c.disconnects));
  std::printf("  latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              latency_.percentileMs(50), latency_.percentileMs(90),
              latency_.percentileMs(99), latency_.maxMs());
  std::printf("  server RSS %ld kB before, %ld kB idle, %ld kB end; %ld B per "
              "idle subscriber\n",
              rss_before, rss_idle, rss_end, per_sub);
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
      "missing=%llu gaps=%llu gap_msgs=%llu dups=%llu misrouted=%llu "
      "resets=%llu disconnects=%llu polls=%llu poll_reconnects=%llu "
      "http_errors=%llu lat_p50_ms=%.1f lat_p90_ms=%.1f lat_p99_ms=%.1f "
      "lat_max_ms=%.1f rss_before_kb=%ld rss_idle_kb=%ld rss_end_kb=%ld "
      "rss_per_sub_b=%ld slow=%d slow_cut=%d slow_bytes=%llu "
      "delivered_pct=%.2f\n",
      o.label.empty() ? "-" : o.label.c_str(), serverName(o.server),
      modeName(o.mode), o.subs, o.channels, o.rate, c.subscribed, connect_s,
      connect_latency_.percentileMs(50), connect_latency_.percentileMs(99),
      connect_latency_.maxMs(), c.connect_failures, c.gave_up,
      published_count_, static_cast<unsigned long long>(publish_ok),
      static_cast<unsigned long long>(c.publish_errors), rate,
      static_cast<unsigned long long>(exp),
      static_cast<unsigned long long>(c.delivered),
      static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(c.gaps),
      static_cast<unsigned long long>(c.gap_messages),
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
      exp > 0 ? 100.0 * static_cast<double>(c.delivered) / exp : 0.0);
  std::fflush(stdout);
}

}  // namespace bench
