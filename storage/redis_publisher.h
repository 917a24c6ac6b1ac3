// RedisPublisher: the Redis backend's publishing path, one thread and one
// connection that pipeline the publish scripts of every concurrent publish.
//
// Publishes (a single message is a batch of one) are queued with their
// completion. The publisher thread takes everything queued, writes one
// EVALSHA of kRedisPublishScript (redis_scripts.h) per publish on its
// connection without waiting, then reads the replies in order and calls
// each completion. So a round trip is shared by as many publishes as arrive
// while the previous one is out, and no thread waits per publisher. Redis
// runs scripts one at a time anyway, so one connection loses nothing to a
// pool, and it keeps a channel's publishes in queue order.
//
// A publish is acknowledged (its completion called with OK) only after
// Redis answered the script that stored it. A script that Redis does not
// know (NOSCRIPT: its cache was emptied by a restart) or that found the
// epoch missing (NOEPOCH: FLUSHALL) stored nothing; it is sent again, alone,
// with EVAL, after the epoch is recreated. Those late ones get later ids
// than publishes that followed them, so when a round had any, completions
// run in id order, not queue order. An I/O error fails every publish of the
// round still unanswered with Unavailable: it may have been stored, and is
// never sent twice (Resend::kNo, redis_connection.h).
//
// Threading: submit() is thread-safe. Completions, and `noteEpoch`, run on
// the publisher thread. The destructor completes everything queued before
// it returns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/broker.h"
#include "storage/redis_connection.h"

namespace rtdemo {

class RedisPublisher {
 public:
  // Called with every epoch a reply carried, and the connection it came on.
  using EpochNote = std::function<void(RedisConnection*, const std::string&)>;

  // `limitArgs`: ARGV 1 to 6 of kRedisPublishScript (retention, cap, prefix,
  // most evictions). Starts the thread.
  RedisPublisher(RedisEndpoint endpoint, std::string prefix,
                 std::vector<std::string> limitArgs, EpochNote noteEpoch);
  ~RedisPublisher();
  RedisPublisher(const RedisPublisher&) = delete;
  RedisPublisher& operator=(const RedisPublisher&) = delete;

  // Queues a publish of `items` (checked by the caller: checkPublishBatch).
  void submit(std::vector<PublishItem> items, BatchDone done);

  // Cap evictions the scripts of this publisher did (HistoryStats).
  uint64_t evictedChannels() const { return evictedChannels_.load(); }
  uint64_t evictedMessages() const { return evictedMessages_.load(); }

 private:
  struct Job {
    std::vector<PublishItem> items;
    BatchDone done;
    Status status;
    std::vector<MessagePtr> stored;
  };

  void run();
  void round(std::vector<Job>* jobs);
  std::vector<std::string> command(const Job& job, bool eval) const;
  // Fills job->status and job->stored from the script's reply (not an
  // error reply that asks for a retry).
  void settle(Job* job, const redisReply* reply);

  // Constant after construction.
  const std::string prefix_;
  const std::vector<std::string> limitArgs_;
  const std::string sha_;
  const EpochNote noteEpoch_;

  RedisConnection conn_;  // publisher thread only
  std::atomic<uint64_t> evictedChannels_{0}, evictedMessages_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::deque<Job> queue_;
  bool stopping_ = false;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace rtdemo
