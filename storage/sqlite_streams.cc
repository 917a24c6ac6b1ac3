// Implementation of the SQLite stream tables (see sqlite_streams.h).
#include "storage/sqlite_streams.h"

#include <vector>

#include "Poco/NumberParser.h"
#include "storage/stream_rules.h"

namespace rtdemo {

using Poco::Int64;
using Poco::Data::Session;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;
using Poco::Data::Keywords::useRef;

namespace {

// The channel's last sequence, or the floor for a channel history does not
// know (as SqliteReaders::lastId).
Int64 lastSeqOf(Session& s, const std::string& channel) {
  std::vector<Int64> last;
  s << "SELECT last_seq FROM channels WHERE name = ?", useRef(channel), into(last), now;
  if (!last.empty()) return last[0];
  std::vector<std::string> floor;
  s << "SELECT value FROM meta WHERE key = 'seq_floor'", into(floor), now;
  Int64 value = 0;
  if (!floor.empty()) Poco::NumberParser::tryParse64(floor[0], value);
  return value;
}

}  // namespace

void readStreamRow(Session& s, const std::string& epoch, const std::string& channel,
                   StreamInfo* out, bool* exists) {
  std::vector<std::string> type, lastSeqText;
  std::vector<Int64> ttl, expires, closed, start, created, access;
  s << "SELECT content_type, ttl_s, expires_ms, closed, start_seq, created_ms, "
       "access_ms, last_stream_seq FROM streams WHERE name = ?",
      useRef(channel), into(type), into(ttl), into(expires), into(closed), into(start),
      into(created), into(access), into(lastSeqText), now;
  *exists = !type.empty();
  if (!*exists) return;
  *out = StreamInfo();
  out->config.contentType = type[0];
  out->config.ttlSeconds = ttl[0];
  out->config.expiresAtMs = expires[0];
  out->closed = closed[0] != 0;
  out->startId = MessageId{epoch, uint64_t(start[0]), 0}.toString();
  out->tailId = MessageId{epoch, uint64_t(lastSeqOf(s, channel)), 0}.toString();
  out->createdMs = created[0];
  out->lastAccessMs = access[0];
  out->lastStreamSeq = lastSeqText[0];
}

SqliteStreamWriter::SqliteStreamWriter(Session* db, SqliteChannels* channels,
                                       std::string epoch, StoreRow storeRow)
    : db_(db), channels_(channels), epoch_(std::move(epoch)), storeRow_(std::move(storeRow)) {}

std::string SqliteStreamWriter::tail(const std::string& channel) {
  SqliteChannels::Channel* ch = channels_->find(channel);
  // The index runs ahead of the file inside a transaction; it knows best.
  Int64 last = ch != nullptr ? ch->lastSeq : lastSeqOf(*db_, channel);
  return MessageId{epoch_, uint64_t(last), 0}.toString();
}

bool SqliteStreamWriter::live(const std::string& channel, int64_t nowMs, int64_t touchedMs,
                              StreamInfo* info) {
  bool exists = false;
  readStreamRow(*db_, epoch_, channel, info, &exists);
  if (!exists) return false;
  if (touchedMs > info->lastAccessMs) info->lastAccessMs = touchedMs;
  if (streamExpired(*info, nowMs)) {
    drop(channel);
    return false;
  }
  return true;
}

void SqliteStreamWriter::drop(const std::string& channel) {
  std::string name = channel;
  *db_ << "DELETE FROM streams WHERE name = ?", use(name), now;
  *db_ << "DELETE FROM producers WHERE stream = ?", use(name), now;
  // The history goes, the channel row (its last sequence) stays: ids are
  // never issued twice.
  if (SqliteChannels::Channel* ch = channels_->find(channel)) channels_->deleteAll(ch);
}

void SqliteStreamWriter::create(const std::string& channel, const StreamConfig& config,
                                const StreamAppend& initial, int64_t nowMs, int64_t touchedMs,
                                StreamResult* out) {
  *out = StreamResult();
  StreamInfo existing;
  bool there = live(channel, nowMs, touchedMs, &existing);
  out->outcome = decideCreate(there ? &existing : nullptr, config);
  if (out->outcome != StreamOutcome::kOk) {
    out->tailId = tail(channel);
    out->closed = existing.closed;
    return;
  }
  SqliteChannels::Channel& ch = channels_->publishedTo(channel);
  std::string name = channel, type = config.contentType, noSeq;
  Int64 ttl = config.ttlSeconds, expires = config.expiresAtMs, start = ch.lastSeq,
        closed = initial.close ? 1 : 0, at = nowMs;
  *db_ << "INSERT INTO streams(name, content_type, ttl_s, expires_ms, closed, start_seq, "
          "created_ms, access_ms, last_stream_seq) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
      use(name), use(type), use(ttl), use(expires), use(closed), use(start), use(at),
      use(at), use(noSeq), now;
  for (const std::string& data : initial.messages)
    out->stored.push_back(storeRow_(&ch, channel, initial.event, data));
  out->tailId = tail(channel);
  out->closed = initial.close;
}

void SqliteStreamWriter::append(const std::string& channel, const StreamAppend& append,
                                int64_t nowMs, int64_t touchedMs, StreamResult* out) {
  *out = StreamResult();
  StreamInfo info;
  if (!live(channel, nowMs, touchedMs, &info)) {
    out->outcome = StreamOutcome::kNotFound;
    return;
  }
  std::string name = channel;
  ProducerState stored;
  bool known = false;
  if (append.producer) {
    std::string producer = append.producer->id;
    std::vector<Int64> epoch, last;
    *db_ << "SELECT epoch, last_seq FROM producers WHERE stream = ? AND producer = ?",
        use(name), use(producer), into(epoch), into(last), now;
    if (!epoch.empty()) {
      known = true;
      stored = ProducerState{epoch[0], last[0]};
    }
  }
  AppendDecision d = decideAppend(info, append, known ? &stored : nullptr);
  out->outcome = d.outcome;
  out->producerEpoch = d.reportEpoch;
  out->producerSeq = d.reportSeq;
  out->closed = info.closed;
  if (d.outcome == StreamOutcome::kOk) {
    if (append.producer) {
      std::string producer = append.producer->id;
      Int64 epoch = d.producer.epoch, last = d.producer.lastSeq;
      *db_ << "INSERT INTO producers(stream, producer, epoch, last_seq) VALUES(?, ?, ?, ?) "
              "ON CONFLICT(stream, producer) DO UPDATE SET epoch = excluded.epoch, "
              "last_seq = excluded.last_seq",
          use(name), use(producer), use(epoch), use(last), now;
    }
    if (!append.messages.empty()) {
      SqliteChannels::Channel& ch = channels_->publishedTo(channel);
      for (const std::string& data : append.messages)
        out->stored.push_back(storeRow_(&ch, channel, append.event, data));
    }
    std::string seq = append.streamSeq ? *append.streamSeq : info.lastStreamSeq;
    Int64 closed = (info.closed || append.close) ? 1 : 0, at = nowMs;
    *db_ << "UPDATE streams SET closed = ?, access_ms = ?, last_stream_seq = ? WHERE name = ?",
        use(closed), use(at), use(seq), use(name), now;
    out->closed = closed != 0;
  }
  out->tailId = tail(channel);
}

void SqliteStreamWriter::remove(const std::string& channel, int64_t nowMs, int64_t touchedMs,
                                StreamResult* out) {
  *out = StreamResult();
  StreamInfo info;
  if (!live(channel, nowMs, touchedMs, &info)) {
    out->outcome = StreamOutcome::kNotFound;
    return;
  }
  drop(channel);
  out->tailId = tail(channel);
}

}  // namespace rtdemo
