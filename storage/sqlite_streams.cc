// Implementation of the SQLite stream tables (see sqlite_streams.h).
#include "storage/sqlite_streams.h"

#include <optional>
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
  std::vector<Int64> ttl, expires, closed, start, created, access, deleted;
  s << "SELECT content_type, ttl_s, expires_ms, closed, start_seq, created_ms, "
       "access_ms, last_stream_seq, deleted FROM streams WHERE name = ?",
      useRef(channel), into(type), into(ttl), into(expires), into(closed), into(start),
      into(created), into(access), into(lastSeqText), into(deleted), now;
  *exists = !type.empty();
  if (!*exists) return;
  std::vector<std::string> source;
  std::vector<Int64> forkSeq, ownStart, pointGiven, subOffset;
  s << "SELECT source, fork_seq, own_start, point_given, sub_offset FROM stream_forks "
       "WHERE name = ?",
      useRef(channel), into(source), into(forkSeq), into(ownStart), into(pointGiven),
      into(subOffset), now;
  Int64 forks = 0;
  s << "SELECT COUNT(*) FROM stream_forks WHERE source = ?", useRef(channel), into(forks),
      now;
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
  out->softDeleted = deleted[0] != 0;
  out->forks = forks;
  out->ownStartId = out->startId;
  if (!source.empty()) {
    out->forkedFrom = source[0];
    out->forkPointId = MessageId{epoch, uint64_t(forkSeq[0]), 0}.toString();
    out->ownStartId = MessageId{epoch, uint64_t(ownStart[0]), 0}.toString();
    out->forkPointGiven = pointGiven[0] != 0;
    out->forkSubOffset = subOffset[0];
  }
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
  if (!info->softDeleted && streamExpired(*info, nowMs)) {
    if (info->forks > 0) {
      softDelete(channel);
      info->softDeleted = true;
      return true;
    }
    drop(channel);
    return false;
  }
  return true;
}

void SqliteStreamWriter::softDelete(const std::string& channel) {
  std::string name = channel;
  *db_ << "UPDATE streams SET deleted = 1 WHERE name = ?", use(name), now;
}

void SqliteStreamWriter::drop(const std::string& channel) {
  std::string name = channel;
  std::vector<std::string> source;
  *db_ << "SELECT source FROM stream_forks WHERE name = ?", use(name), into(source), now;
  *db_ << "DELETE FROM streams WHERE name = ?", use(name), now;
  *db_ << "DELETE FROM producers WHERE stream = ?", use(name), now;
  *db_ << "DELETE FROM stream_forks WHERE name = ?", use(name), now;
  // The history goes, the channel row (its last sequence) stays: ids are
  // never issued twice.
  if (SqliteChannels::Channel* ch = channels_->find(channel)) channels_->deleteAll(ch);
  if (source.empty()) return;
  // A soft-deleted source goes with its last fork, and so on up the chain,
  // in this same transaction.
  Int64 forks = 0, deleted = 0;
  *db_ << "SELECT COUNT(*) FROM stream_forks WHERE source = ?", use(source[0]), into(forks),
      now;
  std::vector<Int64> flag;
  *db_ << "SELECT deleted FROM streams WHERE name = ?", use(source[0]), into(flag), now;
  if (!flag.empty()) deleted = flag[0];
  if (forks == 0 && deleted != 0) drop(source[0]);
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
  insertStream(channel, config, ch.lastSeq, initial.close, nowMs);
  for (const std::string& data : initial.messages)
    out->stored.push_back(storeRow_(&ch, channel, initial.event, data));
  out->tailId = tail(channel);
  out->closed = initial.close;
}

void SqliteStreamWriter::insertStream(const std::string& channel, const StreamConfig& config,
                                      Int64 startSeq, bool closed, int64_t nowMs) {
  std::string name = channel, type = config.contentType, noSeq;
  Int64 ttl = config.ttlSeconds, expires = config.expiresAtMs, start = startSeq,
        isClosed = closed ? 1 : 0, at = nowMs;
  *db_ << "INSERT INTO streams(name, content_type, ttl_s, expires_ms, closed, start_seq, "
          "created_ms, access_ms, last_stream_seq) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
      use(name), use(type), use(ttl), use(expires), use(isClosed), use(start), use(at),
      use(at), use(noSeq), now;
}

void SqliteStreamWriter::createFork(const std::string& channel, const StreamConfig& config,
                                    const ForkSpec& fork, const StreamAppend& initial,
                                    int64_t nowMs, const Touched& touchedMs,
                                    StreamResult* out) {
  *out = StreamResult();
  StreamInfo existing, source;
  bool there = live(channel, nowMs, touchedMs(channel), &existing);
  bool sourceThere = live(fork.source, nowMs, touchedMs(fork.source), &source);
  if (sourceThere) source.tailId = tail(fork.source);
  out->outcome = decideFork(there ? &existing : nullptr, config, fork,
                            sourceThere ? &source : nullptr);
  if (out->outcome != StreamOutcome::kOk) {
    if (there) {
      out->tailId = tail(channel);
      out->closed = existing.closed;
    }
    return;
  }
  std::optional<MessageId> point = MessageId::parse(fork.pointId);
  std::optional<MessageId> start = MessageId::parse(source.startId);
  SqliteChannels::Channel& ch = channels_->publishedTo(channel);
  // The fork's own messages are numbered after the fork point.
  if (ch.lastSeq < Int64(point->major)) {
    Int64 id = ch.id, last = Int64(point->major);
    *db_ << "UPDATE channels SET last_seq = ? WHERE id = ?", use(last), use(id), now;
    ch.lastSeq = last;
  }
  insertStream(channel, config, Int64(start->major), initial.close, nowMs);
  std::string name = channel, from = fork.source;
  Int64 forkSeq = Int64(point->major), ownStart = ch.lastSeq,
        given = fork.pointGiven ? 1 : 0, sub = fork.subOffset;
  *db_ << "INSERT INTO stream_forks(name, source, fork_seq, own_start, point_given, "
          "sub_offset) VALUES(?, ?, ?, ?, ?, ?)",
      use(name), use(from), use(forkSeq), use(ownStart), use(given), use(sub), now;
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
  out->tailId = tail(channel);
  if (info.softDeleted) {
    out->outcome = StreamOutcome::kGone;
  } else if (info.forks > 0) {
    softDelete(channel);  // its history stays for the forks
  } else {
    drop(channel);
  }
}

bool SqliteStreamWriter::refusesPublish(const std::string& channel, int64_t nowMs,
                                        int64_t touchedMs) {
  StreamInfo info;
  return live(channel, nowMs, touchedMs, &info) && info.closed && !info.softDeleted;
}

}  // namespace rtdemo
