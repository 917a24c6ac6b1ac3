// libFuzzer target: cursor parsing, as every subscriber sends one: the
// Last-Event-ID header or last_event_id of /events, since of /poll, last_id
// of /ws (storage/message_id.h MessageId::parse, storage/cursor.h). Besides
// crashes and sanitizer reports it checks the contract:
//   - an accepted id has a valid epoch, is made of [0-9a-z-] only, and its
//     printed form parses back to the same id and prints the same again;
//   - checkCursor: an empty cursor is "from the start", any other is in the
//     epoch exactly when it parses with that epoch, and a refusal has a
//     reason;
//   - resolveDenseCursor (memory, SQLite) never serves past the last issued
//     id, never serves across a gap without a reset, and a reset names the
//     oldest retained id (or none) in the current epoch.
//
// Input layout: byte 0 picks the backend's epoch (bits 0-1) and how bytes
// 1-4 are read (bits 6-7); bytes 1-4 give the history's state (the last
// issued sequence, and how much of it was trimmed); the rest is the cursor
// text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/cursor.h"
#include "storage/message_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 5) return 0;
  static const char* const kEpochs[] = {"ep", "a1b2c3d4e5", "0", "zzzzzzzzzzzzzzzz"};
  const std::string epoch = kEpochs[bytes[0] % 4];
  // Small numbers, so that a fuzzed cursor's sequence lands on the edges:
  // before, at and after what is retained. 0xFFFF...: the largest sequence.
  uint64_t lastIssued = (bytes[1] << 8) | bytes[2];
  if (bytes[0] & 0x80) lastIssued = ~uint64_t(0) - lastIssued;
  // How many of the first sequences were trimmed, 0..lastIssued: counted
  // from the start or from the end, so both edges are reached.
  const uint64_t raw = (bytes[3] << 8) | bytes[4];
  const uint64_t part = raw <= lastIssued ? raw : raw % (lastIssued + 1);  // no wrap: lastIssued < raw
  const uint64_t trimmed = (bytes[0] & 0x40) ? lastIssued - part : part;
  // The oldest retained sequence; 0 when nothing is retained.
  const uint64_t oldest = (lastIssued == 0 || trimmed == lastIssued) ? 0 : trimmed + 1;
  const std::string cursor(reinterpret_cast<const char*>(bytes) + 5, size - 5);

  auto id = rtdemo::MessageId::parse(cursor);
  if (id) {
    if (!rtdemo::isValidEpoch(id->epoch)) std::abort();
    if (cursor.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz-") != std::string::npos)
      std::abort();
    const std::string printed = id->toString();
    auto again = rtdemo::MessageId::parse(printed);
    if (!again || *again != *id || again->toString() != printed) std::abort();
  }

  rtdemo::CursorCheck check = rtdemo::checkCursor(cursor, epoch);
  if (cursor.empty()) {
    if (!check.sameEpoch || !check.fromStart || check.id != rtdemo::MessageId::start(epoch))
      std::abort();
  } else {
    if (check.fromStart) std::abort();
    if (check.sameEpoch != (id && id->epoch == epoch)) std::abort();
    if (check.sameEpoch && check.id != *id) std::abort();
    if (!check.sameEpoch && check.reason.empty()) std::abort();
  }

  rtdemo::HistoryRead read;
  const uint64_t after = rtdemo::resolveDenseCursor(cursor, epoch, oldest, lastIssued, &read);
  if (after > lastIssued) std::abort();
  if (read.reset) {
    if (after != 0 || read.resetReason.empty()) std::abort();
    if (oldest == 0) {
      if (!read.oldest.empty()) std::abort();
    } else {
      auto o = rtdemo::MessageId::parse(read.oldest);
      if (!o || o->epoch != epoch || o->major != oldest) std::abort();
    }
  } else if (!cursor.empty()) {
    // Served from `after`: it is the client's own position, and every
    // message after it is still retained.
    if (!check.sameEpoch || after != check.id.major) std::abort();
    if (after != lastIssued && (oldest == 0 || oldest > after + 1)) std::abort();
  } else if (after != 0) {
    std::abort();
  }
  return 0;
}
