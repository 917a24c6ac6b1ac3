// Implementation of the stitched stream read (see stream_read.h).
#include "storage/stream_read.h"

#include <optional>

namespace rtdemo {
namespace {

// Appends to out->messages what `channel`'s stream holds after `cursor`, up
// to `limit` in all and no message past `cap` (nullptr: no cap). Sets
// *own to the cursor its own channel was read after.
Status readLevel(Broker& broker, const std::string& channel, const StreamInfo& info,
                 MessageId cursor, size_t limit, const MessageId* cap, int depth,
                 StreamHistory* out, MessageId* own) {
  if (depth > kMaxForkDepth)
    return Status::Corruption("fork chain of " + channel + " is deeper than " +
                              std::to_string(kMaxForkDepth));
  if (!info.forkedFrom.empty()) {
    std::optional<MessageId> point = MessageId::parse(info.forkPointId);
    std::optional<MessageId> ownStart = MessageId::parse(info.ownStartId);
    if (!point || !ownStart)
      return Status::Corruption("fork " + channel + " has a malformed fork point");
    if (cursor < *point) {
      StreamInfo source;
      bool exists = false;
      Status s = broker.streamInfo(info.forkedFrom, &source, &exists);
      if (!s.ok()) return s;
      if (!exists) {
        out->gone = true;
        out->reason = "the history stream " + channel + " was forked from is gone";
        return Status::OK();
      }
      MessageId sourceCap = cap != nullptr && *cap < *point ? *cap : *point;
      MessageId ignored;
      s = readLevel(broker, info.forkedFrom, source, cursor, limit, &sourceCap, depth + 1,
                    out, &ignored);
      if (!s.ok() || out->gone || out->messages.size() >= limit) return s;
    }
    // Past the inherited part: ids up to the own start name no message.
    if (cursor < *ownStart) cursor = *ownStart;
  }
  *own = cursor;
  HistoryRead read;
  Status s = broker.readAfter(channel, cursor.toString(), limit - out->messages.size(), &read);
  if (!s.ok()) return s;
  if (read.reset) {
    out->gone = true;
    out->reason = read.resetReason;
    return Status::OK();
  }
  for (MessagePtr& m : read.messages) {
    if (cap != nullptr && *cap < m->id) break;
    out->messages.push_back(std::move(m));
  }
  return Status::OK();
}

}  // namespace

Status readStreamHistory(Broker& broker, const std::string& channel,
                         const StreamInfo& info, MessageId cursor, size_t limit,
                         StreamHistory* out) {
  *out = StreamHistory();
  out->next = cursor;
  if (limit == 0) return Status::OK();
  MessageId own = cursor;
  Status s = readLevel(broker, channel, info, cursor, limit, nullptr, 0, out, &own);
  if (!s.ok() || out->gone) {
    out->messages.clear();
    return s;
  }
  if (!out->messages.empty()) out->next = out->messages.back()->id;
  // Read to the end: the position is at least where the own messages start.
  if (out->messages.size() < limit && out->next < own) out->next = own;
  return Status::OK();
}

}  // namespace rtdemo
