// One WebSocket subscriber: connects from a spread source address, upgrades
// GET /ws?channel=C (rtdemo) or GET /sub?id=C (Nchan) with WsHandshakeReader,
// then reads server frames with WsFrameReader. It answers every ping with a
// masked pong (rtdemo drops a peer that stays silent for 3 heartbeats) and a
// close with a masked close. The bench payload is the "data" field of
// rtdemo's {"type":"message",...} text frames, and the whole frame with
// Nchan; either goes to LoadRun::onMessage like an SSE event's data.
// Subscribed means: the 101 arrived, as an SSE subscriber counts its 200.
#pragma once

#include <cstdint>
#include <string>

#include "connection.h"
#include "delivery_tracker.h"
#include "net_util.h"
#include "ws_frame_reader.h"
#include "ws_frame_writer.h"
#include "ws_handshake.h"

namespace bench {

class LoadRun;

class WsSubscriber : public Connection, private WsFrameListener {
 public:
  // run must outlive this subscriber.
  WsSubscriber(LoadRun* run, int channel);
  ~WsSubscriber() override;

  void start();
  void onEvent(uint32_t events) override;
  int receiveFd(uint32_t events) const override;
  void onReceived(const char* data, ssize_t n, const Received& when) override;
  void onRetry() override;

  int channel() const { return channel_; }
  bool subscribed() const { return subscribed_; }
  const DeliveryTracker& tracker() const { return tracker_; }

 private:
  enum class State { kIdle, kConnecting, kAwaitHandshake, kOpen, kDone };

  void onWsMessage(WsOpcode opcode, const char* data, size_t len) override;
  void onText(const char* data, size_t len);

  void sendRequest();
  // Queues a control frame for the server and writes what the socket takes.
  void sendFrame(WsOpcode opcode, const char* payload, size_t len);
  void flush();
  void fail();
  void lost();  // the open stream ended (EOF, reset, close, protocol error)
  void closeFd();

  LoadRun* run_;  // not owned
  const int channel_;
  int fd_ = -1;
  State state_ = State::kIdle;
  int attempts_ = 0;
  int64_t start_ns_ = 0;  // first connect attempt, for connect latency
  bool subscribed_ = false;
  DeliveryTracker tracker_;
  Received received_;  // when the read being parsed arrived and was read
  WsHandshakeReader handshake_;
  WsFrameReader frames_;
  WsMaskSource masks_;
  std::string out_;       // frames the socket did not take yet
  bool want_out_ = false; // EPOLLOUT is in the watched events
  std::string text_;      // scratch for a JSON message
};

}  // namespace bench
