// Cursor checks shared by the backends.
//
// Every backend must answer the same question the same way: can this client
// cursor be served, or does the client need an explicit reset? The epoch part
// is common to all backends; the gap part is common to the backends whose ids
// are a dense per-channel sequence (memory and SQLite).
#pragma once

#include <cstdint>
#include <string>

#include "storage/broker.h"
#include "storage/message_id.h"

namespace rtdemo {

struct CursorCheck {
  bool sameEpoch = false;  // false: serve from the oldest message with reset
  bool fromStart = false;  // empty cursor: everything retained, never a reset
  MessageId id;            // valid when sameEpoch
  std::string reason;      // why not, when !sameEpoch
};

// An empty cursor means "everything retained": no reset, whatever was trimmed.
CursorCheck checkCursor(const std::string& cursor, const std::string& epoch);

// For dense sequences: given a same-epoch cursor `seq`, the oldest retained
// sequence (0 if none is retained) and the last sequence ever issued, returns
// an empty string when the cursor can be served with no gap, or the reason it
// cannot.
std::string sequenceGap(uint64_t seq, uint64_t oldestRetained,
                        uint64_t lastIssued);

// The whole cursor decision of a dense-sequence backend (memory, SQLite):
// returns the sequence to read after, and on a reset fills out->reset,
// resetReason and oldest (from `oldestRetained`, 0 meaning none) and returns
// 0 so the read starts at the oldest retained message.
uint64_t resolveDenseCursor(const std::string& cursor, const std::string& epoch,
                            uint64_t oldestRetained, uint64_t lastIssued,
                            HistoryRead* out);

}  // namespace rtdemo
