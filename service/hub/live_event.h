// LiveEvent: one published message, encoded once for every transport.
//
// The hub builds one LiveEvent per live message and hands the same instance
// to every loop and every connection; nothing is re-encoded per subscriber.
// Immutable after construction except for the lazily built WebSocket frame
// and poll body, each guarded by a once_flag because two loops may ask for
// it at once.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "service/hub/out_buffer.h"
#include "storage/message.h"

namespace rtdemo {

class LiveEvent {
 public:
  explicit LiveEvent(MessagePtr message);

  const MessagePtr& message() const { return message_; }
  const SharedBytes& sse() const { return sse_; }
  // The WebSocket text frame {"type":"message",...}, built on first use.
  const SharedBytes& wsFrame() const;

  // The JSON body answering a long poll that was waiting for exactly this
  // message: every parked poll of the channel gets these same bytes after
  // its own response head. Built on first use.
  const SharedBytes& pollBody() const;

 private:
  const MessagePtr message_;
  const SharedBytes sse_;
  mutable std::once_flag wsOnce_;
  mutable SharedBytes ws_;
  mutable std::once_flag pollOnce_;
  mutable SharedBytes poll_;
};

using LiveEventPtr = std::shared_ptr<const LiveEvent>;

}  // namespace rtdemo
