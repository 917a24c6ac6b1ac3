// Implementation of LiveEvent (see live_event.h).
#include "service/live_event.h"

#include "service/poll_answer.h"
#include "service/sse_encoder.h"

namespace rtdemo {

LiveEvent::LiveEvent(MessagePtr message)
    : message_(std::move(message)),
      sse_(std::make_shared<const std::string>(sse::encodeMessage(*message_))) {}

const SharedBytes& LiveEvent::pollAnswer() const {
  std::call_once(pollOnce_, [this] {
    poll_ = std::make_shared<const std::string>(encodeDetachedResponse(
        200, "OK", encodePollBody({message_}, message_->idText)));
  });
  return poll_;
}

}  // namespace rtdemo
