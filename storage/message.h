// Message: one published message as it is stored and delivered.
//
// Messages are immutable once published and are shared, never copied, between
// the history, the live fan-out and every connection that sends them
// (MessagePtr). The id is kept both parsed and as text because the text is
// what goes on the wire thousands of times per message.
#pragma once

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
