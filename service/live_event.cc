// Implementation of LiveEvent (see live_event.h).
#include "service/live_event.h"

#include "service/poll_answer.h"
#include "service/sse_encoder.h"

namespace rtdemo {

LiveEvent::LiveEvent(MessagePtr message)
    : message_(std::move(message)),
      sse_(std::make_shared<const std::string>(sse::encodeMessage(*message_))) {}

const SharedBytes& LiveEvent::pollAnswer(bool keepAlive) const {
  int k = keepAlive ? 1 : 0;
  std::call_once(pollOnce_[k], [this, k, keepAlive] {
    poll_[k] = std::make_shared<const std::string>(encodeDetachedResponse(
        200, "OK", encodePollBody({message_}, message_->idText), keepAlive));
  });
  return poll_[k];
}

}  // namespace rtdemo
