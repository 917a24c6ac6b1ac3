// SqliteChannels: the SQLite writer's index of every channel in the file, and
// the deletions that keep history inside its limits: per-channel count and
// age trimming, and the global cap (storage/history_cap.h).
//
// The index holds, per channel, its row id, last issued sequence, how far it
// has been trimmed, and the messageCost() of the rows it still has, plus all
// channels in least-recently-published order. It is loaded in full from the
// file (one scan of the messages table, at start and after a transaction
// that failed), because the cap needs the total and the oldest channel at
// every publish. Its size is bounded by history.max-channels.
//
// Every deletion here removes a prefix of a channel (lowest seqs first), or
// the whole channel, so what is left of a channel is always one unbroken run
// of seqs; the readers (sqlite_reader.h) turn a cursor into what is gone into
// a `reset`. An evicted channel's row goes too; its last sequence is kept in
// meta 'seq_floor', and a channel created afterwards starts there.
//
// What a row costs is computed in SQL (rowCostSql()) from the lengths of its
// event and data. Data is stored as a BLOB, whose length SQLite reads from
// the record header alone; rows written by earlier versions hold TEXT, which
// is read once to be measured.
//
// Not thread-safe: the writer thread owns it. Every method that touches the
// file must run inside the writer's transaction and throws Poco::Exception;
// after a rollback, call invalidate() and the index reloads before its next
// use, so that it never runs ahead of the file.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "Poco/Data/Session.h"
#include "Poco/Data/Statement.h"

namespace rtdemo {

class SqliteChannels {
 public:
  struct Channel {
    Poco::Int64 id = 0;
    Poco::Int64 lastSeq = 0;         // last issued, committed or in this batch
    Poco::Int64 trimmedThrough = 0;  // every seq <= this has been deleted
    uint64_t bytes = 0;              // messageCost() of its rows
    bool touched = false;            // written in the current batch
    std::list<Channel*>::iterator lruPos;
    const std::string* name = nullptr;  // its key in the index
  };

  // `db` must outlive this object.
  SqliteChannels(Poco::Data::Session* db, size_t historySize, uint64_t maxBytes,
                 size_t maxChannels);

  // Loads the index if it is not loaded. Returns the names of channels over
  // the count limit (history.size lowered since the last run) when it did.
  std::vector<std::string> ensureLoaded();
  void invalidate() { loaded_ = false; }

  // The channel, created (at the floor's sequence) if history does not know
  // it. Moves it to the most recently published end.
  Channel& publishedTo(const std::string& name);
  // The channel, or nullptr when history does not know it.
  Channel* find(const std::string& name) {
    auto it = channels_.find(name);
    return it == channels_.end() ? nullptr : &it->second;
  }
  // Records one more row of `cost` bytes for `ch`.
  void added(Channel* ch, uint64_t cost);

  // Deletes every row of `ch` (a deleted or expired stream); the channel
  // and its last sequence stay.
  void deleteAll(Channel* ch) { deleteThrough(ch, ch->lastSeq, false); }

  // Deletes at most kTrimBatch rows of `ch` past the count limit. Returns
  // true when more remain.
  bool trimCount(Channel* ch);
  // Deletes at most kTrimBatch of the oldest rows stamped before `cutoff`, a
  // prefix of store order (sqlite_reader.h explains why it stops at the
  // first row inside max-age). Returns true when more may remain.
  bool trimAge(Poco::Int64 cutoff);
  // While over the cap, evicts the least recently published channels other
  // than `spared`, then trims the spared ones' oldest rows (never a
  // channel's newest). At most kMaxEvictionsPerStep evictions. Returns true
  // when still over the cap with evictable history left (call again later).
  bool enforceCap(const std::vector<Channel*>& spared);
  // enforceCap() sparing only the most recently published channel.
  bool enforceCapIdle();

  bool overCap() const {
    return retainedBytes_ > maxBytes_ || channels_.size() > maxChannels_;
  }
  uint64_t retainedBytes() const { return retainedBytes_; }
  uint64_t channelCount() const { return channels_.size(); }
  uint64_t evictedChannels() const { return evictedChannels_; }
  uint64_t evictedMessages() const { return evictedMessages_; }

 private:
  void evict(Channel* ch);
  // Deletes `ch`'s rows with trimmedThrough < seq <= upTo.
  void deleteThrough(Channel* ch, Poco::Int64 upTo, bool byCap);

  Poco::Data::Session* const db_;
  const size_t historySize_;
  const uint64_t maxBytes_;
  const size_t maxChannels_;

  bool loaded_ = false;
  std::unordered_map<std::string, Channel> channels_;
  std::unordered_map<Poco::Int64, Channel*> byId_;
  std::list<Channel*> lru_;  // least recently published first
  uint64_t retainedBytes_ = 0;
  Poco::Int64 seqFloor_ = 0;
  // Since start; not reset by a reload.
  uint64_t evictedChannels_ = 0;
  uint64_t evictedMessages_ = 0;
};

// The SQL expression for one row's messageCost() (columns `event`, `data`).
const std::string& rowCostSql();

}  // namespace rtdemo
