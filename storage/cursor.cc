// Implementation of the shared cursor checks (see cursor.h).
#include "storage/cursor.h"

namespace rtdemo {

CursorCheck checkCursor(const std::string& cursor, const std::string& epoch) {
  CursorCheck check;
  if (cursor.empty()) {
    check.sameEpoch = true;
    check.fromStart = true;
    check.id = MessageId::start(epoch);
    return check;
  }
  auto id = MessageId::parse(cursor);
  if (!id) {
    check.reason = "unknown id";
    return check;
  }
  if (id->epoch != epoch) {
    check.reason = "id from another history epoch";
    return check;
  }
  check.sameEpoch = true;
  check.id = *id;
  return check;
}

std::string sequenceGap(uint64_t seq, uint64_t oldestRetained,
                        uint64_t lastIssued) {
  if (seq > lastIssued) return "id was never issued by this history";
  if (seq == lastIssued) return "";
  // Something after the cursor was issued: it must still be retained, and
  // the first retained message must directly follow the cursor or precede it.
  if (oldestRetained == 0 || seq + 1 < oldestRetained) {
    return "messages after this id were trimmed from history";
  }
  return "";
}

uint64_t resolveDenseCursor(const std::string& cursor, const std::string& epoch,
                            uint64_t oldestRetained, uint64_t lastIssued,
                            HistoryRead* out) {
  CursorCheck check = checkCursor(cursor, epoch);
  if (check.sameEpoch && check.fromStart) return 0;
  if (check.sameEpoch) {
    check.reason = sequenceGap(check.id.major, oldestRetained, lastIssued);
    if (check.reason.empty()) return check.id.major;
  }
  out->reset = true;
  out->resetReason = check.reason;
  out->oldest = oldestRetained == 0 ? "" : MessageId{epoch, oldestRetained, 0}.toString();
  return 0;
}

}  // namespace rtdemo
