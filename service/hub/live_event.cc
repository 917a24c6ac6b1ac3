// Implementation of LiveEvent (see live_event.h).
#include "service/hub/live_event.h"

#include "service/protocol/poll_answer.h"
#include "service/protocol/sse_encoder.h"
#include "service/protocol/ws_frame.h"
#include "service/protocol/ws_protocol.h"

namespace rtdemo {

LiveEvent::LiveEvent(MessagePtr message)
    : message_(std::move(message)),
      sse_(std::make_shared<const std::string>(sse::encodeMessage(*message_))) {}

const SharedBytes& LiveEvent::wsFrame() const {
  std::call_once(wsOnce_, [this] {
    ws_ = std::make_shared<const std::string>(
        ws::encodeFrame(ws::kText, wsproto::encodeMessage(*message_)));
  });
  return ws_;
}

const SharedBytes& LiveEvent::pollBody() const {
  std::call_once(pollOnce_, [this] {
    poll_ = std::make_shared<const std::string>(
        encodePollBody({message_}, message_->idText));
  });
  return poll_;
}

}  // namespace rtdemo
