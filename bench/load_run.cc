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
// Here: the phases and the epoll plumbing. The clients' callbacks are in
// load_run_events.cc, the report in load_run_report.cc, and a group
// member's part in load_run_group.cc.
#include "load_run.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ds_stream.h"
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

// ---- phases ----

void LoadRun::startMoreConnects() {
  while (started_ < options_.subs && in_flight_ < options_.connect_concurrency) {
    ++in_flight_;
    if (options_.mode == Mode::kSse || options_.mode == Mode::kDs) {
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
    if (o.mode == Mode::kSse || o.mode == Mode::kDs) {
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

  // Durable Streams readers need their streams to exist (a channel with no
  // stream metadata answers 404 on /v1/stream).
  for (int i = 0; o.mode == Mode::kDs && i < o.channels; ++i) {
    std::string error;
    if (!createStream(dsts_.front(), channels_[i].name, &error)) {
      std::fprintf(stderr, "loadgen: PUT /v1/stream/%s: %s\n",
                   channels_[i].name.c_str(), error.c_str());
      return 1;
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
    killIfDue();
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
  // Nor is a stream still waiting out its retry: to resume.
  while (nowNs() < drain_end && (!allDelivered() || resumesPending()) &&
         (nowNs() - std::max(last_delivery_ns_, last_publish_ns_) < quiet_ns ||
          resumesPending())) {
    pollOnce(10);
  }
  const double drain_s = (nowNs() - last_publish_ns_) / 1e9;
  if (!leads) {
    countAllGaps();
    finishResumes();
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
  finishResumes();
  phase_ = Phase::kDone;
  std::fprintf(stderr, "loadgen: drained %.2f s after the last publish\n",
               drain_s);
  report(connect_s, rss_before, rss_idle, rss_end, publish_s, server_cpu_s,
         self_cpu_s);
  return 0;
}

}  // namespace bench
