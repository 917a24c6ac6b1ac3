// Implementation of the Redis backend's shared helpers (see redis_stream.h).
#include "storage/redis_stream.h"

#include <hiredis/hiredis.h>

#include <charconv>

#include "Poco/Logger.h"
#include "Poco/SHA1Engine.h"

#include "storage/redis_connection.h"

namespace rtdemo {
namespace {

bool parseU64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::optional<StreamId> StreamId::parse(std::string_view text) {
  size_t dash = text.find('-');
  StreamId id;
  if (dash == std::string_view::npos) {
    if (!parseU64(text, &id.ms)) return std::nullopt;
    return id;
  }
  if (!parseU64(text.substr(0, dash), &id.ms)) return std::nullopt;
  if (!parseU64(text.substr(dash + 1), &id.seq)) return std::nullopt;
  return id;
}

std::string StreamId::toString() const {
  return std::to_string(ms) + "-" + std::to_string(seq);
}

MessagePtr messageFromEntry(const std::string& channel, const redisReply* entry,
                            const std::string& fallbackEpoch) {
  if (entry == nullptr || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2)
    return nullptr;
  auto sid = StreamId::parse(replyString(entry->element[0]));
  const redisReply* fields = entry->element[1];
  if (!sid || fields == nullptr || fields->type != REDIS_REPLY_ARRAY) return nullptr;
  std::string epoch = fallbackEpoch, event, data;
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    std::string name = replyString(fields->element[i]);
    if (name == "d") {
      data = replyString(fields->element[i + 1]);
    } else if (name == "e") {
      event = replyString(fields->element[i + 1]);
    } else if (name == "p") {
      std::string p = replyString(fields->element[i + 1]);
      if (isValidEpoch(p)) epoch = p;
    }
  }
  return makeMessage(channel, MessageId{epoch, sid->ms, sid->seq}, std::move(event),
                     std::move(data), static_cast<int64_t>(sid->ms));
}

std::string EpochCell::get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

std::string EpochCell::set(const std::string& epoch) {
  std::string before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (epoch_ == epoch) return epoch;
    before = epoch_;
    epoch_ = epoch;
  }
  auto& log = Poco::Logger::get("rtdemo.redis");
  if (before.empty()) {
    log.information("redis: history epoch %s", epoch);
  } else {
    log.warning("redis: history epoch changed from %s to %s (Redis was flushed or "
                "replaced); clients resuming from older ids get a reset",
                before, epoch);
  }
  return before;
}

Status loadEpoch(RedisConnection* conn, const std::string& prefix, std::string* epoch) {
  std::vector<RedisReplyPtr> replies;
  const std::string key = epochKey(prefix);
  Status s = conn->pipeline({{"SET", key, newEpoch(), "NX"}, {"GET", key}}, &replies,
                            Resend::kOnce);
  if (!s.ok()) return s;
  for (const auto& r : replies) {
    s = redisStatus(nullptr, r.get(), "redis epoch");
    if (!s.ok()) return s;
  }
  *epoch = replyString(replies[1].get());
  if (!isValidEpoch(*epoch)) {
    return Status::Corruption("redis key " + key + " holds '" + *epoch +
                              "', which is not an rtdemo epoch");
  }
  return Status::OK();
}

std::string redisScriptSha(const std::string& script) {
  Poco::SHA1Engine sha;
  sha.update(script);
  return Poco::DigestEngine::digestToHex(sha.digest());
}

bool isRedisError(const redisReply* r, const char* prefix) {
  return r && r->type == REDIS_REPLY_ERROR &&
         std::string(r->str, r->len).rfind(prefix, 0) == 0;
}

Status runRedisScript(RedisConnection* conn, const std::string& prefix,
                      const std::string& script, const std::string& sha,
                      const std::vector<std::string>& keys,
                      const std::vector<std::string>& args, Resend resend,
                      const RedisEpochNote& noteEpoch, RedisReplyPtr* reply) {
  Status s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<std::string> argv = {"EVALSHA", sha, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    s = conn->command(argv, reply, resend);
    if (isRedisError(reply->get(), "NOSCRIPT")) {
      argv[0] = "EVAL";
      argv[1] = script;
      s = conn->command(argv, reply, resend);
    }
    if (!isRedisError(reply->get(), "NOEPOCH")) return s;
    std::string epoch;
    s = loadEpoch(conn, prefix, &epoch);
    if (!s.ok()) return s;
    noteEpoch(conn, epoch);
  }
  return s;
}

void announceEpochChange(RedisConnection* conn, const std::string& prefix,
                         const std::string& before, const std::string& now) {
  if (before.empty() || now.empty() || before == now) return;
  const std::string key = nextEpochKey(prefix, before);
  std::vector<RedisReplyPtr> replies;
  conn->pipeline({{"XADD", key, "MAXLEN", "1", "*", "e", now}, {"EXPIRE", key, "86400"}},
                 &replies, Resend::kOnce);
}

}  // namespace rtdemo
