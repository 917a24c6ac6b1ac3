// The Redis backend's stream operations (see redis_streams.h).
#include "storage/redis_streams.h"

#include <hiredis/hiredis.h>

#include <charconv>

#include "storage/redis_stream_scripts.h"

namespace rtdemo {
namespace {

// The script's short outcome names (redis_stream_scripts.cc).
bool outcomeFromCode(const std::string& code, StreamOutcome* out) {
  static const struct {
    const char* code;
    StreamOutcome outcome;
  } kCodes[] = {
      {"ok", StreamOutcome::kOk},
      {"exists", StreamOutcome::kExists},
      {"duplicate", StreamOutcome::kDuplicate},
      {"notfound", StreamOutcome::kNotFound},
      {"conflict", StreamOutcome::kConfigConflict},
      {"ctype", StreamOutcome::kContentTypeMismatch},
      {"closed", StreamOutcome::kClosed},
      {"sseq", StreamOutcome::kStreamSeqRegression},
      {"stale", StreamOutcome::kStaleEpoch},
      {"gap", StreamOutcome::kSeqGap},
      {"epoch0", StreamOutcome::kEpochNotFromZero},
  };
  for (const auto& c : kCodes) {
    if (code == c.code) {
      *out = c.outcome;
      return true;
    }
  }
  return false;
}

int64_t toInt(const redisReply* r) {
  std::string text = replyString(r);
  int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// "<ms>-<seq>" as an rtdemo id of `epoch`; "" when it is not a stream id.
std::string idOf(const std::string& epoch, const std::string& streamId) {
  auto sid = StreamId::parse(streamId);
  return sid ? MessageId{epoch, sid->ms, sid->seq}.toString() : "";
}

}  // namespace

RedisStreams::RedisStreams(RedisPool* pool, std::string prefix,
                           std::vector<std::string> limitArgs,
                           std::shared_ptr<const WallClock> clock, RedisEpochNote noteEpoch)
    : pool_(pool),
      prefix_(std::move(prefix)),
      limitArgs_(std::move(limitArgs)),
      clock_(std::move(clock)),
      noteEpoch_(std::move(noteEpoch)),
      sha_(redisScriptSha(redisStreamScript())) {}

Status RedisStreams::run(const std::string& op, const std::string& channel,
                         const std::vector<std::string>& opArgs, Resend resend,
                         RedisReplyPtr* reply) {
  std::vector<std::string> args = limitArgs_;
  args.push_back(op);
  args.push_back(clock_ ? std::to_string(clock_->nowMs()) : "");
  args.push_back(channel);
  args.insert(args.end(), opArgs.begin(), opArgs.end());
  auto conn = pool_->acquire();
  Status s = runRedisScript(&*conn, prefix_, redisStreamScript(), sha_,
                            {epochKey(prefix_), channelsKey(prefix_), bytesKey(prefix_),
                             floorKey(prefix_), channelKey(prefix_, channel),
                             costKey(prefix_, channel), streamMetaKey(prefix_, channel),
                             streamProducersKey(prefix_, channel)},
                            args, resend, noteEpoch_, reply);
  if (s.ok()) s = redisStatus(nullptr, reply->get(), "redis stream " + op);
  if (!s.ok()) return s;
  const redisReply* r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
    return Status::Corruption("redis stream " + op + ": unexpected reply");
  std::string epoch = replyString(r->element[0]);
  if (!isValidEpoch(epoch)) return Status::Corruption("redis stream " + op + ": bad epoch");
  noteEpoch_(&*conn, epoch);
  return Status::OK();
}

Status RedisStreams::result(const RedisReplyPtr& reply, const std::string& channel,
                            const std::string& event, const std::vector<std::string>& messages,
                            StreamResult* out) {
  *out = StreamResult();
  const redisReply* r = reply.get();
  if (r->elements < 6 || !outcomeFromCode(replyString(r->element[1]), &out->outcome))
    return Status::Corruption("redis stream: unexpected reply");
  std::string epoch = replyString(r->element[0]);
  out->tailId = out->outcome == StreamOutcome::kNotFound
                    ? ""
                    : idOf(epoch, replyString(r->element[2]));
  out->closed = replyString(r->element[3]) == "1";
  out->producerEpoch = toInt(r->element[4]);
  out->producerSeq = toInt(r->element[5]);
  const size_t stored = r->elements - 6;
  if (stored != 0 && stored != messages.size())
    return Status::Corruption("redis stream: unexpected reply");
  for (size_t i = 0; i < stored; ++i) {
    auto sid = StreamId::parse(replyString(r->element[6 + i]));
    if (!sid) return Status::Corruption("redis stream: bad id");
    out->stored.push_back(makeMessage(channel, MessageId{epoch, sid->ms, sid->seq}, event,
                                      messages[i], static_cast<int64_t>(sid->ms)));
  }
  return Status::OK();
}

Status RedisStreams::create(const std::string& channel, const StreamConfig& config,
                            const StreamAppend& initial, StreamResult* out) {
  std::vector<std::string> args = {config.contentType, std::to_string(config.ttlSeconds),
                                   std::to_string(config.expiresAtMs),
                                   initial.close ? "1" : "0", initial.event};
  args.insert(args.end(), initial.messages.begin(), initial.messages.end());
  RedisReplyPtr reply;
  Status s = run("create", channel, args, Resend::kNo, &reply);
  if (s.ok()) s = result(reply, channel, initial.event, initial.messages, out);
  if (!s.ok()) *out = StreamResult();
  return s;
}

Status RedisStreams::append(const std::string& channel, const StreamAppend& append,
                            StreamResult* out) {
  const ProducerClaim none;
  const ProducerClaim& p = append.producer ? *append.producer : none;
  std::vector<std::string> args = {append.contentType,
                                   append.event,
                                   append.close ? "1" : "0",
                                   append.streamSeq ? "1" : "0",
                                   append.streamSeq.value_or(""),
                                   append.producer ? "1" : "0",
                                   p.id,
                                   std::to_string(p.epoch),
                                   std::to_string(p.seq)};
  args.insert(args.end(), append.messages.begin(), append.messages.end());
  RedisReplyPtr reply;
  Status s = run("append", channel, args, Resend::kNo, &reply);
  if (s.ok()) s = result(reply, channel, append.event, append.messages, out);
  if (!s.ok()) *out = StreamResult();
  return s;
}

Status RedisStreams::info(const std::string& channel, StreamInfo* out, bool* exists) {
  *exists = false;
  RedisReplyPtr reply;
  // Safe to resend: it only reads, and drops what has already expired.
  Status s = run("info", channel, {}, Resend::kOnce, &reply);
  if (!s.ok()) return s;
  const redisReply* r = reply.get();
  if (r->elements < 2) return Status::Corruption("redis stream info: unexpected reply");
  if (replyString(r->element[1]) != "1") return Status::OK();
  if (r->elements != 11) return Status::Corruption("redis stream info: unexpected reply");
  std::string epoch = replyString(r->element[0]);
  *out = StreamInfo();
  out->config.contentType = replyString(r->element[2]);
  out->config.ttlSeconds = toInt(r->element[3]);
  out->config.expiresAtMs = toInt(r->element[4]);
  out->closed = replyString(r->element[5]) == "1";
  out->startId = idOf(epoch, replyString(r->element[6]));
  out->tailId = idOf(epoch, replyString(r->element[7]));
  out->createdMs = toInt(r->element[8]);
  out->lastAccessMs = toInt(r->element[9]);
  out->lastStreamSeq = replyString(r->element[10]);
  if (out->startId.empty() || out->tailId.empty())
    return Status::Corruption("redis key " + streamMetaKey(prefix_, channel) +
                              " holds a start id rtdemo did not write");
  *exists = true;
  return Status::OK();
}

Status RedisStreams::touch(const std::string& channel) {
  RedisReplyPtr reply;
  // Safe to resend: restarting a TTL twice is restarting it.
  return run("touch", channel, {}, Resend::kOnce, &reply);
}

Status RedisStreams::remove(const std::string& channel, StreamResult* out) {
  RedisReplyPtr reply;
  Status s = run("delete", channel, {}, Resend::kNo, &reply);
  if (s.ok()) s = result(reply, channel, "", {}, out);
  if (!s.ok()) *out = StreamResult();
  return s;
}

}  // namespace rtdemo
