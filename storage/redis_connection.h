// RedisConnection and RedisPool: the Redis backend's thin layer over hiredis.
//
// Everything the Redis backend sends goes through here, for three reasons:
//   - arguments are passed with redisCommandArgv (binary-safe lengths), so no
//     user data is ever formatted into a command string;
//   - a context that saw an I/O or protocol error is freed at once and a new
//     one is made on the next use, after an exponential backoff, because a
//     hiredis context cannot be reused after an error;
//   - a context that Redis closed while it sat idle (Redis restarted, or its
//     `timeout` dropped us) is noticed *before* a command is written to it:
//     an idle connection never has anything to read, so a readable socket
//     means end-of-file. It is replaced at once, with no backoff and no
//     failed command. Without this, the first command on every pooled
//     connection after a Redis restart failed: a 503 for a publish, and a
//     subscription left without its start id (redis_live_reader.h, rule 3);
//   - a command that may run twice (Resend::kOnce) and broke on a connection
//     that had worked before is sent once more on a fresh connection, for
//     the breaks the idle check cannot see (a peer that vanished without
//     closing);
//   - every hiredis failure becomes a Status in one function, redisStatus().
//
// Threading: a RedisConnection is NOT thread-safe (nor is the redisContext
// inside it); one thread uses it at a time, except for interrupt(), which any
// thread may call. RedisPool is thread-safe and hands each connection to one
// thread at a time through a Lease.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/status.h"

struct redisContext;
struct redisReply;

namespace rtdemo {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// Where Redis is and how to log in; from BrokerConfig.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // empty: no AUTH
  int db = 0;
  int timeoutMs = 2000;  // connect, and every reply
};

// Translates the outcome of one hiredis call into a Status: I/O and protocol
// errors, and server replies that mean "not now" (LOADING, MASTERDOWN, ...),
// become Unavailable; WRONGTYPE becomes Corruption; an unknown command or
// syntax becomes NotSupported (a Redis older than 7.0). OK for anything else.
// `context` may be null to check a reply of a pipeline that already ended.
Status redisStatus(const redisContext* context, const redisReply* reply,
                   const std::string& where);

// Whether a command may be sent a second time, on a fresh connection, when
// the connection it went out on turns out to be broken. Only for commands
// that do the same when run twice (reads, SET NX, a wake): a publish whose
// connection broke mid-flight may already be stored, and must not be stored
// twice, so it fails (Unavailable) and its client retries.
enum class Resend { kNo, kOnce };

class RedisConnection {
 public:
  explicit RedisConnection(RedisEndpoint endpoint);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Makes sure a logged-in context exists. While backing off after a failed
  // attempt it fails at once without touching the network, so callers (a
  // /send handler) answer quickly while Redis is away.
  Status ensure();

  // One command, one reply. A server error reply is returned as a non-OK
  // Status too, and *reply still holds it. On an I/O error the context is
  // dropped (and, with Resend::kOnce, the command sent once more).
  Status command(const std::vector<std::string>& argv, RedisReplyPtr* reply,
                 Resend resend = Resend::kNo);

  // Several commands in one round trip; replies in order. Fails as a whole on
  // an I/O error; server error replies are left for the caller to inspect.
  Status pipeline(const std::vector<std::vector<std::string>>& commands,
                  std::vector<RedisReplyPtr>* replies, Resend resend = Resend::kNo);

  // Frees the context; the next ensure() reconnects (after backoff if
  // `failed`).
  void drop(bool failed);

  // How long a reply may take; the live reader raises it above its BLOCK.
  void setReplyTimeout(int ms);

  // Thread-safe. Shuts the socket down so that a command blocked in another
  // thread (XREAD BLOCK) returns at once, and makes every later connection
  // attempt fail. Used to stop the live reader.
  void interrupt();

  bool connected() const { return context_ != nullptr; }
  int fd() const;  // -1 when not connected
  // Milliseconds until the next connection attempt is allowed (0: now).
  int64_t backoffRemainingMs() const;
  const std::string& lastError() const { return lastError_; }
  std::string address() const;

 private:
  Status connect();
  // ensure(), after replacing a context that Redis closed while it was idle.
  // *reused: the context existed before this call.
  Status ready(bool* reused);
  // ready(), then `once`, then `once` again on a fresh connection if the
  // context broke under it, was reused, and `resend` allows it.
  template <typename Once>
  Status withResend(Resend resend, Once once);
  Status commandOnce(const std::vector<std::string>& argv, RedisReplyPtr* reply);
  Status pipelineOnce(const std::vector<std::vector<std::string>>& commands,
                      std::vector<RedisReplyPtr>* replies);

  const RedisEndpoint endpoint_;

  // interrupt() may run on another thread, so the context pointer is only
  // replaced or freed under fdMu_; the owning thread reads it freely because
  // it is the only writer.
  mutable std::mutex fdMu_;
  redisContext* context_ = nullptr;
  bool interrupted_ = false;  // guarded by fdMu_
  int replyTimeoutMs_;
  std::chrono::steady_clock::time_point retryAt_{};
  int backoffMs_ = 0;  // 0: the last attempt succeeded
  std::string lastError_;
};

// A fixed number of connections, created lazily and shared by the publishing
// and reading threads.
class RedisPool {
 public:
  class Lease {
   public:
    Lease(RedisPool* pool, std::unique_ptr<RedisConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->release(std::move(conn_));
    }
    RedisConnection* operator->() { return conn_.get(); }
    RedisConnection& operator*() { return *conn_; }

   private:
    RedisPool* pool_;
    std::unique_ptr<RedisConnection> conn_;
  };

  RedisPool(RedisEndpoint endpoint, size_t size);

  // Waits for an idle connection (they are only held for one round trip).
  Lease acquire();

 private:
  void release(std::unique_ptr<RedisConnection> conn);

  const RedisEndpoint endpoint_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::vector<std::unique_ptr<RedisConnection>> idle_;
};

// Reply helpers: they accept a null reply and return "" / empty.
std::string replyString(const redisReply* r);
bool replyIsNil(const redisReply* r);

}  // namespace rtdemo
