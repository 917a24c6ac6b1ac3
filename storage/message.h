// Message: one published message as it is stored and delivered.
//
// Messages are immutable once published and are shared, never copied, between
// the history, the live fan-out and every connection that sends them
// (MessagePtr). The id is kept both parsed and as text because the text is
// what goes on the wire thousands of times per message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "storage/message_id.h"

namespace rtdemo {

struct Message {
  std::string channel;
  MessageId id;
  std::string idText;  // id.toString(), computed once
  std::string event;   // empty when the publisher set no event type
  std::string data;    // valid UTF-8, any length up to the configured limit
  int64_t tsMs = 0;    // store time, milliseconds since 1970
};

using MessagePtr = std::shared_ptr<const Message>;

// Bookkeeping per message counted against history.max-bytes (and a batch's
// rtdemo.send.batch.max-bytes) on top of its data and event: ids, stamps and
// index entries, roughly, on every backend (storage/history_cap.h).
constexpr uint64_t kMessageOverheadBytes = 64;

inline uint64_t messageCost(size_t eventBytes, size_t dataBytes) {
  return static_cast<uint64_t>(eventBytes) + static_cast<uint64_t>(dataBytes) +
         kMessageOverheadBytes;
}

inline MessagePtr makeMessage(std::string channel, MessageId id,
                              std::string event, std::string data,
                              int64_t tsMs) {
  auto m = std::make_shared<Message>();
  m->channel = std::move(channel);
  m->idText = id.toString();
  m->id = std::move(id);
  m->event = std::move(event);
  m->data = std::move(data);
  m->tsMs = tsMs;
  return m;
}

}  // namespace rtdemo
