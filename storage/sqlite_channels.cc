// Implementation of SqliteChannels (see sqlite_channels.h).
#include "storage/sqlite_channels.h"

#include <algorithm>

#include "Poco/NumberParser.h"
#include "storage/history_cap.h"

namespace rtdemo {
namespace {

using Poco::Int64;
using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;
using Poco::Data::Keywords::useRef;

constexpr Int64 kTrimBatch = 500;  // rows deleted per channel per step

}  // namespace

const std::string& rowCostSql() {
  static const std::string sql =
      "(" + std::to_string(kMessageOverheadBytes) +
      " + length(CAST(event AS BLOB)) + CASE typeof(data) WHEN 'blob' THEN "
      "length(data) ELSE length(CAST(data AS BLOB)) END)";
  return sql;
}

SqliteChannels::SqliteChannels(Poco::Data::Session* db, size_t historySize,
                               uint64_t maxBytes, size_t maxChannels)
    : db_(db),
      historySize_(historySize > 0 ? historySize : 1),
      maxBytes_(maxBytes),
      maxChannels_(std::max<size_t>(1, maxChannels)) {}

std::vector<std::string> SqliteChannels::ensureLoaded() {
  std::vector<std::string> overCount;
  if (loaded_) return overCount;
  channels_.clear();
  byId_.clear();
  lru_.clear();
  retainedBytes_ = 0;
  seqFloor_ = 0;
  std::vector<std::string> floor;
  *db_ << "SELECT value FROM meta WHERE key = 'seq_floor'", into(floor), now;
  // A value that is not a number (edited by hand) counts as no floor.
  if (floor.empty() || !Poco::NumberParser::tryParse64(floor[0], seqFloor_)) seqFloor_ = 0;

  std::vector<Int64> ids, lastSeqs, minSeqs, bytes, newest;
  std::vector<std::string> names;
  // Least recently published first: by the rowid of each channel's newest
  // row (store order); channels with no rows left come first.
  *db_ << "SELECT c.id, c.name, c.last_seq, COALESCE(MIN(m.seq), c.last_seq + 1), "
          "COALESCE(SUM(" + rowCostSql() + "), 0), COALESCE(MAX(m.id), 0) "
          "FROM channels c LEFT JOIN messages m ON m.channel_id = c.id "
          "GROUP BY c.id ORDER BY 6, c.id",
      into(ids), into(names), into(lastSeqs), into(minSeqs), into(bytes),
      into(newest), now;
  channels_.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto [it, fresh] = channels_.try_emplace(names[i]);
    Channel& ch = it->second;
    ch.id = ids[i];
    ch.lastSeq = lastSeqs[i];
    ch.trimmedThrough = minSeqs[i] - 1;
    ch.bytes = static_cast<uint64_t>(bytes[i]);
    ch.name = &it->first;
    ch.lruPos = lru_.insert(lru_.end(), &ch);
    byId_[ch.id] = &ch;
    retainedBytes_ += ch.bytes;
    if (ch.trimmedThrough < ch.lastSeq - Int64(historySize_)) overCount.push_back(names[i]);
  }
  loaded_ = true;
  return overCount;
}

SqliteChannels::Channel& SqliteChannels::publishedTo(const std::string& name) {
  auto it = channels_.find(name);
  if (it == channels_.end()) {
    Int64 start = seqFloor_;
    *db_ << "INSERT INTO channels(name, last_seq) VALUES(?, ?)", useRef(name), use(start),
        now;
    Int64 id = 0;
    *db_ << "SELECT last_insert_rowid()", into(id), now;
    it = channels_.try_emplace(name).first;
    Channel& ch = it->second;
    ch.id = id;
    ch.lastSeq = start;
    ch.trimmedThrough = start;
    ch.name = &it->first;
    ch.lruPos = lru_.insert(lru_.end(), &ch);
    byId_[id] = &ch;
    return ch;
  }
  Channel& ch = it->second;
  lru_.splice(lru_.end(), lru_, ch.lruPos);
  return ch;
}

void SqliteChannels::added(Channel* ch, uint64_t cost) {
  ch->bytes += cost;
  retainedBytes_ += cost;
}

void SqliteChannels::deleteThrough(Channel* ch, Int64 upTo, bool byCap) {
  if (upTo <= ch->trimmedThrough) return;
  Int64 id = ch->id, from = ch->trimmedThrough;
  Int64 cost = 0, rows = 0;
  *db_ << "SELECT COALESCE(SUM(" + rowCostSql() + "), 0), COUNT(*) FROM messages "
          "WHERE channel_id = ? AND seq > ? AND seq <= ?",
      use(id), use(from), use(upTo), into(cost), into(rows), now;
  *db_ << "DELETE FROM messages WHERE channel_id = ? AND seq > ? AND seq <= ?", use(id),
      use(from), use(upTo), now;
  ch->bytes -= std::min<uint64_t>(ch->bytes, uint64_t(cost));
  retainedBytes_ -= std::min<uint64_t>(retainedBytes_, uint64_t(cost));
  ch->trimmedThrough = upTo;
  if (byCap) evictedMessages_ += uint64_t(rows);
}

bool SqliteChannels::trimCount(Channel* ch) {
  Int64 floor = ch->lastSeq - static_cast<Int64>(historySize_);
  if (ch->trimmedThrough >= floor) return false;
  deleteThrough(ch, std::min(floor, ch->trimmedThrough + kTrimBatch), false);
  return ch->trimmedThrough < floor;
}

bool SqliteChannels::trimAge(Int64 cutoff) {
  std::vector<Int64> ids, stamps;
  Int64 limit = kTrimBatch;
  *db_ << "SELECT id, ts_ms FROM messages ORDER BY id LIMIT ?", use(limit), into(ids),
      into(stamps), now;
  size_t expired = 0;
  while (expired < ids.size() && stamps[expired] < cutoff) ++expired;
  if (expired == 0) return false;
  Int64 upTo = ids[expired - 1];
  // What each channel loses, so that its bytes and trim point stay true.
  std::vector<Int64> channelIds, costs, maxSeqs;
  *db_ << "SELECT channel_id, SUM(" + rowCostSql() + "), MAX(seq) FROM messages "
          "WHERE id <= ? GROUP BY channel_id",
      use(upTo), into(channelIds), into(costs), into(maxSeqs), now;
  *db_ << "DELETE FROM messages WHERE id <= ?", use(upTo), now;
  for (size_t i = 0; i < channelIds.size(); ++i) {
    auto it = byId_.find(channelIds[i]);
    if (it == byId_.end()) continue;  // rows of no channel: not counted
    Channel* ch = it->second;
    ch->bytes -= std::min<uint64_t>(ch->bytes, uint64_t(costs[i]));
    retainedBytes_ -= std::min<uint64_t>(retainedBytes_, uint64_t(costs[i]));
    ch->trimmedThrough = std::max(ch->trimmedThrough, maxSeqs[i]);
  }
  return expired == ids.size() && ids.size() == size_t(kTrimBatch);
}

void SqliteChannels::evict(Channel* ch) {
  Int64 id = ch->id, rows = 0;
  *db_ << "SELECT COUNT(*) FROM messages WHERE channel_id = ?", use(id), into(rows), now;
  *db_ << "DELETE FROM messages WHERE channel_id = ?", use(id), now;
  *db_ << "DELETE FROM channels WHERE id = ?", use(id), now;
  if (ch->lastSeq > seqFloor_) {
    seqFloor_ = ch->lastSeq;
    std::string value = std::to_string(seqFloor_);
    *db_ << "INSERT INTO meta(key, value) VALUES('seq_floor', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        use(value), now;
  }
  retainedBytes_ -= std::min(retainedBytes_, ch->bytes);
  evictedMessages_ += uint64_t(rows);
  ++evictedChannels_;
  lru_.erase(ch->lruPos);
  byId_.erase(id);
  std::string name = *ch->name;  // the key goes with the entry
  channels_.erase(name);
}

bool SqliteChannels::enforceCap(const std::vector<Channel*>& spared) {
  auto isSpared = [&](const Channel* ch) {
    return std::find(spared.begin(), spared.end(), ch) != spared.end();
  };
  // Spared channels were just published to, so they sit at the back: the
  // front is evictable until only they are left.
  for (size_t n = 0; overCap() && !lru_.empty() && !isSpared(lru_.front()); ++n) {
    if (n == kMaxEvictionsPerStep) return true;
    evict(lru_.front());
  }
  // Only spared channels left and still over: their own oldest rows go,
  // least recently published channel first, each keeping its newest row.
  bool more = false;
  for (Channel* ch : lru_) {
    if (retainedBytes_ <= maxBytes_) break;
    if (!isSpared(ch)) continue;
    uint64_t excess = retainedBytes_ - maxBytes_;
    Int64 id = ch->id, from = ch->trimmedThrough, last = ch->lastSeq;
    std::vector<Int64> seqs, costs;
    *db_ << "SELECT seq, " + rowCostSql() + " FROM messages WHERE channel_id = ? AND "
            "seq > ? AND seq < ? ORDER BY seq LIMIT ?",
        use(id), use(from), use(last), useRef(kTrimBatch), into(seqs), into(costs), now;
    uint64_t freed = 0;
    size_t k = 0;
    while (k < seqs.size() && freed < excess) freed += uint64_t(costs[k++]);
    if (k > 0) deleteThrough(ch, seqs[k - 1], true);
    if (k == size_t(kTrimBatch)) more = true;
  }
  return more && retainedBytes_ > maxBytes_;
}

bool SqliteChannels::enforceCapIdle() {
  if (!overCap() || lru_.empty()) return false;
  return enforceCap({lru_.back()});
}

}  // namespace rtdemo
