// The Redis backend's pipelined publisher (see redis_publisher.h).
#include "storage/redis_publisher.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "storage/redis_scripts.h"
#include "storage/redis_stream.h"
#include "storage/thread_name.h"

namespace rtdemo {
namespace {

// Most messages one round writes before it reads a reply: bounds what one
// round holds in memory, and keeps one slow round from delaying the next
// publishes for long.
constexpr size_t kMaxRoundMessages = 1024;

}  // namespace

RedisPublisher::RedisPublisher(RedisEndpoint endpoint, std::string prefix,
                               std::vector<std::string> limitArgs, EpochNote noteEpoch)
    : prefix_(std::move(prefix)),
      limitArgs_(std::move(limitArgs)),
      sha_(redisScriptSha(kRedisPublishScript)),
      noteEpoch_(std::move(noteEpoch)),
      conn_(std::move(endpoint)) {
  thread_ = std::thread([this] { run(); });
  nameThread(thread_, "rtdemo-redis-pub");
}

RedisPublisher::~RedisPublisher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void RedisPublisher::submit(std::vector<PublishItem> items, BatchDone done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(Job{std::move(items), std::move(done), Status(), {}});
      cv_.notify_one();
      return;
    }
  }
  done(Status::Unavailable("the redis backend is closing"), {});
}

void RedisPublisher::run() {
  std::vector<Job> jobs;
  for (;;) {
    jobs.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything completed
      size_t messages = 0;
      while (!queue_.empty() &&
             (jobs.empty() || messages + queue_.front().items.size() <= kMaxRoundMessages)) {
        messages += queue_.front().items.size();
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    round(&jobs);
  }
}

std::vector<std::string> RedisPublisher::command(const Job& job, bool eval) const {
  const size_t n = job.items.size();
  std::vector<std::string> argv;
  argv.reserve(3 + 4 + 2 * n + limitArgs_.size() + 3 * n);
  argv.push_back(eval ? "EVAL" : "EVALSHA");
  argv.push_back(eval ? kRedisPublishScript : sha_);
  argv.push_back(std::to_string(4 + 2 * n));
  argv.push_back(epochKey(prefix_));
  argv.push_back(channelsKey(prefix_));
  argv.push_back(bytesKey(prefix_));
  argv.push_back(floorKey(prefix_));
  for (const PublishItem& item : job.items) {
    argv.push_back(channelKey(prefix_, item.channel));
    argv.push_back(costKey(prefix_, item.channel));
  }
  argv.insert(argv.end(), limitArgs_.begin(), limitArgs_.end());
  for (const PublishItem& item : job.items) {
    argv.push_back(item.channel);
    argv.push_back(item.event);
    argv.push_back(item.data);
  }
  return argv;
}

void RedisPublisher::settle(Job* job, const redisReply* r) {
  job->status = redisStatus(nullptr, r, "redis publish");
  if (!job->status.ok()) return;
  const size_t n = job->items.size();
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 + n) {
    job->status = Status::Corruption("redis publish: unexpected reply");
    return;
  }
  std::string epoch = replyString(r->element[0]);
  if (!isValidEpoch(epoch)) {
    job->status = Status::Corruption("redis publish: bad epoch");
    return;
  }
  noteEpoch_(&conn_, epoch);
  evictedChannels_ += static_cast<uint64_t>(std::max<long long>(0, r->element[1]->integer));
  evictedMessages_ += static_cast<uint64_t>(std::max<long long>(0, r->element[2]->integer));
  std::vector<MessagePtr> stored;
  stored.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto sid = StreamId::parse(replyString(r->element[3 + i]));
    if (!sid) {
      job->status = Status::Corruption("redis publish: bad id");
      return;
    }
    PublishItem& item = job->items[i];
    stored.push_back(makeMessage(std::move(item.channel), MessageId{epoch, sid->ms, sid->seq},
                                 std::move(item.event), std::move(item.data),
                                 static_cast<int64_t>(sid->ms)));
  }
  job->stored = std::move(stored);
}

void RedisPublisher::round(std::vector<Job>* jobs) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(jobs->size());
  for (const Job& job : *jobs) commands.push_back(command(job, false));
  std::vector<RedisReplyPtr> replies;
  Status s = conn_.pipeline(commands, &replies, Resend::kNo);
  commands.clear();
  std::vector<Job*> retry;
  bool noEpoch = false;
  for (size_t i = 0; i < jobs->size(); ++i) {
    Job& job = (*jobs)[i];
    const redisReply* r = i < replies.size() ? replies[i].get() : nullptr;
    if (!s.ok() || r == nullptr) {
      job.status = s.ok() ? Status::Unavailable("redis publish: no reply") : s;
    } else if (isRedisError(r, "NOSCRIPT") || isRedisError(r, "NOEPOCH")) {
      noEpoch = noEpoch || isRedisError(r, "NOEPOCH");
      retry.push_back(&job);
    } else {
      settle(&job, r);
    }
  }
  // Stored nothing: once more each, alone, with the script's text (which
  // loads it into Redis's cache) and the epoch recreated if it was missing.
  for (Job* job : retry) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (noEpoch) {
        std::string epoch;
        job->status = loadEpoch(&conn_, prefix_, &epoch);
        if (!job->status.ok()) break;
        noteEpoch_(&conn_, epoch);
      }
      RedisReplyPtr reply;
      job->status = conn_.command(command(*job, true), &reply, Resend::kNo);
      noEpoch = isRedisError(reply.get(), "NOEPOCH");
      if (noEpoch) continue;
      if (reply) settle(job, reply.get());
      break;
    }
  }
  if (!retry.empty()) {
    // The retried ones were stored after publishes that followed them in
    // the queue: complete in id order, so a channel's completions still
    // follow its ids (failures, which have none, first).
    std::stable_sort(jobs->begin(), jobs->end(), [](const Job& a, const Job& b) {
      if (a.stored.empty() || b.stored.empty()) return a.stored.empty() && !b.stored.empty();
      const MessageId& x = a.stored.front()->id;
      const MessageId& y = b.stored.front()->id;
      return x.major < y.major || (x.major == y.major && x.minor < y.minor);
    });
  }
  for (Job& job : *jobs) {
    if (job.status.ok()) {
      job.done(job.status, job.stored);
    } else {
      job.done(job.status, {});
    }
  }
}

}  // namespace rtdemo
