// HistoryPage: how much history one read may hold in memory.
//
// A replay is read and written one page at a time (hub_loop.h, step 2), and
// a poll answer is one page. A page is bounded twice: by a message count,
// which is what the backends can limit, and by bytes, which is what memory
// is. The count adapts to the sizes seen so far, so that a page of small
// messages is long and a page of 60 KB messages is a few; the byte bound
// then trims what the count let through. What a page costs is thus about
// `budgetBytes`, whatever the history holds, and a reader that never reads
// holds one page and its output buffer.
#pragma once

#include <cstddef>
#include <vector>

#include "storage/message.h"

namespace rtdemo {

// The most messages any page asks for.
constexpr size_t kMaxPageMessages = 1000;
// What a first page asks for, before any size is known.
constexpr size_t kFirstPageMessages = 32;

// What one page may hold: a stream's replay page is an eighth of the
// slow-subscriber limit (rtdemo.stream.buffer.bytes), so that a page and
// the half limit written ahead of the socket stay under the limit; a poll
// answer, which is written whole, half of it.
inline size_t streamPageBudget(size_t maxBufferBytes) { return maxBufferBytes / 8; }
inline size_t pollPageBudget(size_t maxBufferBytes) { return maxBufferBytes / 2; }

// The bytes a message counts for in a page: its data, event and id, and a
// little for framing.
size_t pageBytesOf(const Message& m);

// Keeps the longest prefix of `messages` within `budgetBytes`, but at least
// one message. True if anything was dropped.
bool trimToBudget(std::vector<MessagePtr>* messages, size_t budgetBytes);

// The count to ask for next, given the page just read: `budgetBytes` worth
// of messages of its average size, between 1 and kMaxPageMessages.
size_t nextPageLimit(const std::vector<MessagePtr>& page, size_t budgetBytes);

}  // namespace rtdemo
