// One benchmark run: the epoll loop, the clients, the phases (connect,
// settle, publish, drain) and the report. Clients call back into LoadRun to
// record what they saw, so all counting happens in one place and the
// definition of "expected" and "missing" is written once.
//
// Threading: everything runs on the calling thread; nothing here is
// thread-safe and nothing needs to be.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connection.h"
#include "latency_stats.h"
#include "options.h"

namespace bench {

class Publisher;
class PollClient;
class SseSubscriber;

struct ChannelState {
  std::string name;
  int subscribed = 0;          // subscribers that completed subscribing
  uint64_t next_seq = 0;       // per-channel sequence of the next publish
  uint64_t published_ok = 0;   // publishes answered 2xx
};

struct Counters {
  // Connect phase.
  int subscribed = 0;
  int connect_failures = 0;  // attempts refused, reset or answered non-200
  int gave_up = 0;           // subscribers that exhausted their retries
  // Delivery.
  uint64_t delivered = 0;    // unique in-order-or-later messages received
  uint64_t duplicates = 0;
  uint64_t gaps = 0;         // discontinuities in a client's sequence
  uint64_t gap_messages = 0; // messages skipped over by those gaps
  uint64_t misrouted = 0;    // a message of another channel
  uint64_t resets = 0;       // "reset" events / answers
  uint64_t disconnects = 0;  // streams the server closed during the run
  uint64_t polls = 0;        // long-poll responses received
  uint64_t poll_reconnects = 0;
  uint64_t http_errors = 0;  // unexpected status codes after subscribing
  // Publishing.
  uint64_t published = 0;    // requests written
  uint64_t publish_errors = 0;
  // Slow subscribers (scenario 8).
  int slow_cut = 0;          // saw EOF or reset when finally read
  uint64_t slow_bytes = 0;
};

class LoadRun {
 public:
  explicit LoadRun(const Options& options);
  ~LoadRun();

  // Runs every phase and prints the report. Returns the process exit code.
  int run();

  // ---- Called by connections ----
  const Options& options() const { return options_; }
  const sockaddr_in& dst() const { return dst_; }
  const ChannelState& channel(int i) const { return channels_[i]; }
  Counters& counters() { return counters_; }
  char* readBuffer() { return read_buf_.data(); }
  size_t readBufferSize() const { return read_buf_.size(); }
  uint32_t nextSourceIndex() { return next_src_++; }
  bool publishing() const { return phase_ >= Phase::kPublish; }
  bool inConnectPhase() const { return phase_ == Phase::kConnect; }

  void watch(int fd, Connection* c, uint32_t events);
  void rewatch(int fd, Connection* c, uint32_t events);
  void unwatch(int fd);
  void scheduleRetry(Connection* c, int delay_ms);

  // A subscriber finished its first subscribe (or gave up for good).
  void onSubscribed(int channel, int64_t connect_ns);
  void onSubscribeFailed(bool final_failure);

  // data holds a bench payload "t=<ns>;seq=<n>;c=<channel>;..." received by a
  // client of `channel` whose highest sequence so far is *last_seq.
  void onMessage(int channel, const char* data, size_t len, int64_t now_ns,
                 int64_t* last_seq);

  void onPublishAnswered(int channel, bool ok);

 private:
  enum class Phase { kConnect, kSettle, kPublish, kDrain, kDone };

  void pollOnce(int timeout_ms);
  void runTimers();
  void startMoreConnects();
  void publishDue();
  int publishTimeoutMs();
  uint64_t expected() const;
  bool allDelivered() const;
  void drainSlowSubscribers();
  void report(double connect_s, long rss_before, long rss_idle, long rss_end,
              double publish_s);

  // Constant after construction.
  const Options options_;
  sockaddr_in dst_{};
  int epfd_ = -1;

  Phase phase_ = Phase::kConnect;
  std::vector<ChannelState> channels_;
  Counters counters_;
  LatencyStats latency_;
  LatencyStats connect_latency_;
  std::vector<char> read_buf_;
  uint32_t next_src_ = 0;

  std::vector<std::unique_ptr<SseSubscriber>> sse_;
  std::vector<std::unique_ptr<SseSubscriber>> slow_;
  std::vector<std::unique_ptr<PollClient>> poll_;
  std::vector<std::unique_ptr<Publisher>> publishers_;
  int started_ = 0;         // subscribers whose first connect began
  int in_flight_ = 0;       // started but neither subscribed nor given up
  int settled_ = 0;         // subscribed + given up
  std::multimap<int64_t, Connection*> retries_;  // due time -> client

  // Messages due but not yet written, per publisher. A channel always uses
  // the same publisher, so its messages reach the server in sequence order
  // and a reordering can only be the server's.
  std::vector<std::deque<std::pair<int, uint64_t>>> pending_;
  int due_count_ = 0;        // messages whose send time has come
  int published_count_ = 0;  // messages written by a publisher
  int answered_ = 0;         // publish responses (or failures)
  int64_t publish_start_ns_ = 0;
  int64_t last_publish_ns_ = 0;
  int64_t last_subscribed_ns_ = 0;
};

}  // namespace bench
