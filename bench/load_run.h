// One benchmark run: the epoll loop, the clients, the phases (connect,
// settle, publish, drain) and the report. Clients call back into LoadRun to
// record what they saw, so all counting happens in one place and the
// definition of "expected" and "missing" is written once.
//
// Threading: everything runs on the calling thread; nothing here is
// thread-safe and nothing needs to be.
//
// Groups: with --group-size K, K processes run one load together
// (load_group.h); member 0 publishes and reports, the others only subscribe.
//
// Receiving: the sockets one epoll_wait() reports readable are received from
// together through io_uring (BatchReceiver) by default; --recv syscall makes
// one recvmsg() per socket instead. Clients see the same bytes either way.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "batch_receiver.h"
#include "connection.h"
#include "counters.h"
#include "delivery_tracker.h"
#include "latency_stats.h"
#include "load_group.h"
#include "net_util.h"
#include "options.h"

namespace bench {

class Publisher;
class PollClient;
class SseSubscriber;
class WsSubscriber;

struct ChannelState {
  std::string name;
  int subscribed = 0;          // subscribers that completed subscribing
  uint64_t next_seq = 0;       // per-channel sequence of the next publish
  uint64_t published_ok = 0;   // publishes answered 2xx
  std::vector<char> ok;        // by sequence: answered 2xx
};

class LoadRun {
 public:
  explicit LoadRun(const Options& options);
  ~LoadRun();

  // Runs every phase and prints the report. Returns the process exit code.
  int run();

  // ---- Called by connections ----
  const Options& options() const { return options_; }
  // The server the next connect goes to: round-robin over --ports.
  const sockaddr_in& nextDst() { return dsts_[next_dst_++ % dsts_.size()]; }
  const ChannelState& channel(int i) const { return channels_[i]; }
  Counters& counters() { return counters_; }
  char* readBuffer() { return read_buf_.data(); }
  size_t readBufferSize() const { return read_buf_.size(); }
  uint32_t nextSourceIndex() { return next_src_++; }
  bool publishing() const { return phase_ >= Phase::kPublish; }
  bool inConnectPhase() const { return phase_ == Phase::kConnect; }

  // Receives on fd for c now, without batching, and hands the outcome to
  // c->onReceived(). For a connection that must do something else first in
  // the same event (see Connection::receiveFd).
  void receiveNow(Connection* c, int fd);

  void watch(int fd, Connection* c, uint32_t events);
  void rewatch(int fd, Connection* c, uint32_t events);
  void unwatch(int fd);
  void scheduleRetry(Connection* c, int delay_ms);

  // A subscriber finished its first subscribe (or gave up for good).
  void onSubscribed(int channel, int64_t connect_ns);
  void onSubscribeFailed(bool final_failure);

  // data holds a bench payload "t=<ns>;seq=<n>;c=<channel>;..." received by a
  // client of `channel` that keeps what it got in *tracker; `when` is the
  // read that completed it.
  // dropped: the subscriber's stream dropped at some point (--resume), so
  // it does not count as one of the servers that stayed up.
  void onMessage(int channel, const char* data, size_t len,
                 const Received& when, DeliveryTracker* tracker,
                 bool dropped = false);

  // --resume (load_run_resume.cc): a subscribed stream was lost; one was
  // reopened with Last-Event-ID, downtime_ns after it was lost.
  void onStreamDropped();
  void onResumed(int64_t downtime_ns);

  // lag_ns: how late against the schedule the request was written.
  void onPublishWritten(int channel, uint64_t seq, int64_t t_ns, int64_t lag_ns);
  void onPublishAnswered(int channel, uint64_t seq, bool ok, int64_t rtt_ns);

 private:
  enum class Phase { kConnect, kSettle, kPublish, kDrain, kDone };

  // Sets up batch_ as --recv asks; false if that cannot be done.
  bool setUpReceiving();
  void pollOnce(int timeout_ms);
  // Makes the queued receives and hands each outcome to its connection.
  void receiveBatch();
  void runTimers();
  void startMoreConnects();
  void publishDue();
  int publishTimeoutMs();
  uint64_t expected() const;
  // What expected() will be if every publish succeeds: deliveries to size
  // the sample vectors for before publishing starts.
  uint64_t plannedDeliveries() const;
  bool allDelivered() const;
  void drainSlowSubscribers();
  void countAllGaps();
  void countGaps(int channel, const DeliveryTracker& tracker);
  void writeTimeline(double* worst_p50_ms);
  // Group runs (load_group.h). Turns the loop until done() or the deadline;
  // false on the deadline.
  template <typename Done>
  bool pollUntil(Done done, int64_t deadline_ns);
  // A member other than 0: waits for member 0's "published" and takes its
  // record of which publishes succeeded.
  bool awaitPublished();
  std::string encodePublished() const;
  // Member 0: waits for every member's done.I and adds it to the report.
  void mergeMembers(double* connect_s, double* self_cpu_s);
  // A member other than 0: hands its counts and samples to member 0.
  void handOver(double connect_s, double self_cpu_s);

  // --resume and --kill-pid (load_run_resume.cc).
  void killIfDue();
  bool resumesPending() const { return counters_.dropped > counters_.resumed; }
  // Sorts the survivors' samples into before and during the storm, and
  // counts the resumed subscribers with a gap or a duplicate.
  void finishResumes();
  std::string encodeResumes() const;
  void mergeResumes(const std::string& member_text, int member);
  void reportResumes();

  void report(double connect_s, long rss_before, long rss_idle, long rss_end,
              double publish_s, double server_cpu_s, double self_cpu_s);

  // Constant after construction.
  const Options options_;
  LoadGroup group_;
  uint64_t members_expected_ = 0;  // expected() of the other members
  int members_missing_ = 0;        // members that never reported
  int members_subs_ = 0;           // --subs of the other members
  double bus_cpu_s_ = -1;          // --bus-pid CPU, publish + drain
  std::vector<sockaddr_in> dsts_;  // one per --ports entry
  int epfd_ = -1;
  // Receives of one epoll round, made together: through io_uring, or with
  // one recvmsg() each (--recv syscall, or io_uring unavailable). Set by
  // run() before the first poll.
  std::unique_ptr<BatchReceiver> batch_;

  Phase phase_ = Phase::kConnect;
  std::vector<ChannelState> channels_;
  Counters counters_;
  LatencyStats latency_;  // publish -> read by the load generator
  LatencyStats arrival_;  // publish -> in the subscriber's socket
  LatencyStats connect_latency_;
  std::vector<char> read_buf_;
  uint32_t next_src_ = 0;
  uint32_t next_dst_ = 0;

  std::vector<std::unique_ptr<SseSubscriber>> sse_;
  std::vector<std::unique_ptr<SseSubscriber>> slow_;
  std::vector<std::unique_ptr<WsSubscriber>> ws_;
  std::vector<std::unique_ptr<PollClient>> poll_;
  std::vector<std::unique_ptr<Publisher>> publishers_;
  int started_ = 0;         // subscribers whose first connect began
  int in_flight_ = 0;       // started but neither subscribed nor given up
  int settled_ = 0;         // subscribed + given up
  std::multimap<int64_t, Connection*> retries_;  // due time -> client

  // Messages due but not yet written: (channel, seq, due time). Publishing
  // is open-loop: the next free connection takes the next due message, so a
  // server that answers publishes slowly does not slow the schedule down
  // (unless every connection is busy; publish_lag shows that).
  struct Due {
    int channel;
    uint64_t seq;
    int64_t due_ns;
  };
  std::deque<Due> pending_;
  LatencyStats publish_rtt_;
  LatencyStats publish_lag_;
  int64_t last_delivery_ns_ = 0;
  int due_count_ = 0;        // messages whose send time has come
  int published_count_ = 0;  // messages written by a publisher
  int answered_ = 0;         // publish responses (or failures)
  int64_t publish_start_ns_ = 0;
  int64_t last_publish_ns_ = 0;
  int64_t last_subscribed_ns_ = 0;

  // --resume: the storm after a kill. Times are CLOCK_MONOTONIC, shared by
  // every loadgen process of a group.
  int64_t kill_ns_ = 0;          // when member 0 sent the SIGKILL
  int64_t first_drop_ns_ = 0;    // the first stream lost (0: none)
  int64_t last_resume_ns_ = 0;   // the last one reopened
  LatencyStats resume_;          // per resume: lost -> 200 again
  // (publish time, arrival latency) of every delivery to a subscriber that
  // never dropped; finishResumes() splits them at first_drop_ns_ and
  // last_resume_ns_ into before_ and storm_.
  std::vector<std::pair<int64_t, int64_t>> survivor_samples_;
  LatencyStats before_;
  LatencyStats storm_;

  // Per-message view, kept only with --timeline: message k is sequence
  // k / C on channel k % C.
  std::vector<int64_t> sent_ns_;                        // by message index
  // For --timeline: (message, µs) of every delivery, read and arrival.
  std::vector<std::pair<uint32_t, uint32_t>> samples_;
  std::vector<std::pair<uint32_t, uint32_t>> arrival_samples_;
};

template <typename Done>
bool LoadRun::pollUntil(Done done, int64_t deadline_ns) {
  while (!done()) {
    if (nowNs() >= deadline_ns) return false;
    pollOnce(10);
  }
  return true;
}

}  // namespace bench
