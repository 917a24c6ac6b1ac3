// Implementation of RedisConnection and RedisPool (see redis_connection.h).
#include "storage/redis_connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>

namespace rtdemo {
namespace {

// Backoff between connection attempts: fast enough that a restarted Redis is
// found again within a couple of seconds, slow enough that an absent one
// costs nothing.
constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 2000;

timeval toTimeval(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

bool startsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}

}  // namespace

void RedisReplyDeleter::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}

Status redisStatus(const redisContext* context, const redisReply* reply,
                   const std::string& where) {
  if (context && context->err) {
    return Status::Unavailable(where + ": " + context->errstr);
  }
  if (reply == nullptr) return Status::Unavailable(where + ": no reply from redis");
  if (reply->type != REDIS_REPLY_ERROR) return Status::OK();
  std::string text(reply->str, reply->len);
  // Replies that mean "this server cannot serve now": retrying later helps.
  static const char* const kNotNow[] = {"LOADING",  "BUSY",      "MASTERDOWN",
                                         "READONLY", "OOM",       "MISCONF",
                                         "NOAUTH",   "TRYAGAIN",  "CLUSTERDOWN",
                                         "NOREPLICAS", "WRONGPASS"};
  for (const char* p : kNotNow) {
    if (startsWith(text, p)) return Status::Unavailable(where + ": " + text);
  }
  // CORRUPT: our scripts found a key that rtdemo did not write that way.
  if (startsWith(text, "WRONGTYPE") || startsWith(text, "CORRUPT"))
    return Status::Corruption(where + ": " + text);
  if (startsWith(text, "ERR unknown command") || startsWith(text, "ERR syntax") ||
      startsWith(text, "ERR Unknown") || startsWith(text, "ERR unknown subcommand")) {
    return Status::NotSupported(where + ": " + text + " (rtdemo needs Redis 7.0 or later)");
  }
  return Status::Unavailable(where + ": " + text);
}

std::string replyString(const redisReply* r) {
  if (r == nullptr) return "";
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR) {
    return std::string(r->str, r->len);
  }
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  return "";
}

bool replyIsNil(const redisReply* r) { return r == nullptr || r->type == REDIS_REPLY_NIL; }

RedisConnection::RedisConnection(RedisEndpoint endpoint)
    : endpoint_(std::move(endpoint)), replyTimeoutMs_(endpoint_.timeoutMs) {}

RedisConnection::~RedisConnection() { drop(false); }

std::string RedisConnection::address() const {
  return endpoint_.host + ":" + std::to_string(endpoint_.port);
}

int RedisConnection::fd() const { return context_ ? context_->fd : -1; }

int64_t RedisConnection::backoffRemainingMs() const {
  if (context_ || backoffMs_ == 0) return 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  retryAt_ - std::chrono::steady_clock::now())
                  .count();
  return std::max<int64_t>(0, left);
}

void RedisConnection::interrupt() {
  std::lock_guard<std::mutex> lock(fdMu_);
  interrupted_ = true;
  // shutdown(), not close(): the fd stays owned by the context, so it cannot
  // be reused by another socket while the owner is still reading from it.
  if (context_ && context_->fd >= 0) ::shutdown(context_->fd, SHUT_RDWR);
}

void RedisConnection::drop(bool failed) {
  if (context_) {
    std::lock_guard<std::mutex> lock(fdMu_);
    redisFree(context_);
    context_ = nullptr;
  }
  if (failed) {
    // The first failure after a success reconnects at once: a connection
    // that was merely stale (Redis restarted since its last use) should cost
    // one failed request, not a backoff. From then on the wait doubles.
    retryAt_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoffMs_);
    backoffMs_ = backoffMs_ == 0 ? kFirstBackoffMs : std::min(kMaxBackoffMs, backoffMs_ * 2);
  }
}

void RedisConnection::setReplyTimeout(int ms) {
  replyTimeoutMs_ = ms;
  if (context_) redisSetTimeout(context_, toTimeval(ms));
}

Status RedisConnection::ensure() {
  if (context_) return Status::OK();
  if (backoffRemainingMs() > 0) {
    return Status::Unavailable("redis at " + address() + " is unreachable (" +
                               lastError_ + "); retrying");
  }
  return connect();
}

Status RedisConnection::connect() {
  const std::string where = "redis at " + address();
  Status s;
  bool pipelineDropped = false;
  redisContext* fresh = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port,
                                                toTimeval(endpoint_.timeoutMs));
  {
    std::lock_guard<std::mutex> lock(fdMu_);
    context_ = fresh;
    if (interrupted_ && context_ && !context_->err) ::shutdown(context_->fd, SHUT_RDWR);
  }
  if (context_ == nullptr || context_->err) {
    s = Status::Unavailable(where + ": " +
                            (context_ ? context_->errstr : "cannot allocate a context"));
  } else {
    redisSetTimeout(context_, toTimeval(replyTimeoutMs_));
    redisEnableKeepAlive(context_);
    // Log in and pick the database before anyone sees the connection.
    std::vector<std::vector<std::string>> login;
    if (!endpoint_.password.empty()) login.push_back({"AUTH", endpoint_.password});
    if (endpoint_.db != 0) login.push_back({"SELECT", std::to_string(endpoint_.db)});
    if (login.empty()) login.push_back({"PING"});
    std::vector<RedisReplyPtr> replies;
    s = pipelineOnce(login, &replies);
    pipelineDropped = context_ == nullptr;
    for (size_t i = 0; s.ok() && i < replies.size(); ++i) {
      s = redisStatus(context_, replies[i].get(), where);
    }
  }
  if (!s.ok()) {
    // pipeline() drops the context itself on an I/O error; count the
    // failure once either way.
    if (context_ || !pipelineDropped) drop(true);
    lastError_ = s.message();
    return s;
  }
  backoffMs_ = 0;
  lastError_.clear();
  return Status::OK();
}

Status RedisConnection::ready(bool* reused) {
  *reused = context_ != nullptr;
  if (context_ && context_->fd >= 0) {
    // Every reply has been read, so nothing can be waiting on an idle
    // connection but the end of the stream (or an error).
    pollfd p{context_->fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      drop(false);
      *reused = false;
    }
  }
  return ensure();
}

template <typename Once>
Status RedisConnection::withResend(Resend resend, Once once) {
  bool reused = false;
  Status s = ready(&reused);
  if (!s.ok()) return s;
  s = once();
  if (context_ || !reused || resend != Resend::kOnce) return s;
  // The connection broke under a command that may run twice; one that had
  // worked before gets one more try on a fresh connection, now (the first
  // failure after a success has no backoff).
  s = ensure();
  if (!s.ok()) return s;
  return once();
}

Status RedisConnection::command(const std::vector<std::string>& argv,
                                RedisReplyPtr* reply, Resend resend) {
  reply->reset();
  return withResend(resend, [&] { return commandOnce(argv, reply); });
}

Status RedisConnection::commandOnce(const std::vector<std::string>& argv,
                                    RedisReplyPtr* reply) {
  reply->reset();
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  reply->reset(static_cast<redisReply*>(redisCommandArgv(
      context_, static_cast<int>(args.size()), args.data(), lens.data())));
  Status s = redisStatus(context_, reply->get(), "redis " + argv.front());
  if (context_->err || !*reply) {
    lastError_ = s.message();
    drop(true);
  }
  return s;
}

Status RedisConnection::pipeline(const std::vector<std::vector<std::string>>& commands,
                                 std::vector<RedisReplyPtr>* replies, Resend resend) {
  replies->clear();
  return withResend(resend, [&] { return pipelineOnce(commands, replies); });
}

Status RedisConnection::pipelineOnce(const std::vector<std::vector<std::string>>& commands,
                                     std::vector<RedisReplyPtr>* replies) {
  replies->clear();
  for (const auto& argv : commands) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    for (const std::string& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(context_, static_cast<int>(args.size()), args.data(),
                           lens.data());
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      Status s = redisStatus(context_, nullptr, "redis " + commands[i].front());
      lastError_ = s.message();
      replies->clear();
      drop(true);
      return s;
    }
    replies->emplace_back(static_cast<redisReply*>(raw));
  }
  return Status::OK();
}

RedisPool::RedisPool(RedisEndpoint endpoint, size_t size) : endpoint_(std::move(endpoint)) {
  for (size_t i = 0; i < std::max<size_t>(1, size); ++i)
    idle_.push_back(std::make_unique<RedisConnection>(endpoint_));
}

RedisPool::Lease RedisPool::acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !idle_.empty(); });
  std::unique_ptr<RedisConnection> conn = std::move(idle_.back());
  idle_.pop_back();
  return Lease(this, std::move(conn));
}

void RedisPool::release(std::unique_ptr<RedisConnection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace rtdemo
