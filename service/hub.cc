// Implementation of Hub (see hub.h, and hub_loop.h for the seam between
// history replay and live delivery).
#include "service/hub.h"

#include "storage/clock.h"
#include "service/ws_frame.h"

namespace rtdemo {
namespace {

// History is read in pages so one huge replay does not hold a backend lock.
constexpr size_t kReplayPage = 1000;

// WebSocket messages carry JSON around the data, which escaping can double.
size_t wsMessageLimit(size_t sendMaxBytes) { return sendMaxBytes * 2 + 4096; }

}  // namespace

Hub::Hub(Broker* broker, const HubOptions& options)
    : broker_(broker), options_(options) {
  for (int i = 0; i < std::max(1, options.loops); ++i)
    loops_.push_back(std::make_unique<HubLoop>(this, options_, &stats_));
}

Hub::~Hub() { stop(); }

void Hub::start() {
  if (started_.exchange(true)) return;
  for (auto& loop : loops_) loop->start();
}

void Hub::stop() {
  for (auto& loop : loops_) loop->stopAndJoin();
  workers_.stop();
  std::lock_guard<std::mutex> lock(feedsMu_);
  feeds_.clear();
}

bool Hub::alive(int64_t withinMs) const {
  int64_t now = steadyMs();
  for (const auto& loop : loops_) {
    if (now - loop->lastTurnMs() > withinMs) return false;
  }
  return true;
}

HubLoop* Hub::pickLoop() {
  return loops_[nextLoop_.fetch_add(1, std::memory_order_relaxed) %
                loops_.size()]
      .get();
}

void Hub::acquireFeed(const std::string& channel) {
  std::lock_guard<std::mutex> lock(feedsMu_);
  Feed& feed = feeds_[channel];
  if (feed.users++ == 0) {
    feed.subscription = broker_->subscribe(
        channel, [this](const MessagePtr& m) { onLive(m); });
  }
}

void Hub::releaseFeed(const std::string& channel) {
  std::unique_ptr<Subscription> dropped;
  {
    std::lock_guard<std::mutex> lock(feedsMu_);
    auto it = feeds_.find(channel);
    if (it == feeds_.end()) return;
    if (--it->second.users > 0) return;
    dropped = std::move(it->second.subscription);
    feeds_.erase(it);
  }
  // Unsubscribing waits for an in-flight delivery; do it outside feedsMu_ so
  // that delivery is never waiting on us.
}

void Hub::onLive(const MessagePtr& message) {
  // Runs on a backend thread: encode once, then only queue.
  auto event = std::make_shared<const LiveEvent>(message);
  for (auto& loop : loops_) loop->post(LiveCmd{event});
}

ReplayCmd Hub::readHistory(uint64_t connId, const std::string& channel,
                           const std::string& cursor) {
  ReplayCmd replay;
  replay.connId = connId;
  replay.channel = channel;
  replay.cursor = cursor;
  if (cursor.empty()) return replay;  // no cursor: nothing to replay
  std::string from = cursor;
  for (;;) {
    HistoryRead page;
    Status s = broker_->readAfter(channel, from, kReplayPage, &page);
    if (!s.ok()) {
      replay.error = s.toString();
      break;
    }
    bool first = replay.history.messages.empty() && !replay.history.reset;
    if (first && page.reset) {
      replay.history.reset = true;
      replay.history.oldest = page.oldest;
      replay.history.resetReason = page.resetReason;
    }
    size_t got = page.messages.size();
    if (got > 0) from = page.messages.back()->idText;
    for (auto& m : page.messages) replay.history.messages.push_back(std::move(m));
    if (got < kReplayPage) break;
  }
  // After the read: if the epoch moved (a flushed Redis), the reset must
  // name the epoch the history came from.
  replay.epochStart = MessageId::start(broker_->epoch()).toString();
  return replay;
}

void Hub::attach(std::unique_ptr<Conn> conn, const std::string& cursor) {
  // Order matters (see hub_loop.h): subscribe, register, then read history.
  const std::string channel = conn->subs.front()->channel;
  const uint64_t id = conn->id;
  acquireFeed(channel);
  HubLoop* loop = pickLoop();
  loop->post(AttachCmd{std::move(conn)});
  loop->post(readHistory(id, channel, cursor));
}

void Hub::addStream(Poco::Net::StreamSocket socket, const std::string& channel,
                    const std::string& cursor) {
  socket.setBlocking(false);
  socket.setNoDelay(true);
  auto conn = std::make_unique<Conn>(nextConnId_++, Conn::Kind::kStream, std::move(socket));
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel));
  attach(std::move(conn), cursor);
}

void Hub::addPoll(Poco::Net::StreamSocket socket, const std::string& channel,
                  const std::string& cursor, int64_t timeoutMs,
                  bool keepAlive, PollReuse reuse) {
  socket.setBlocking(false);
  socket.setNoDelay(true);
  auto conn = std::make_unique<Conn>(nextConnId_++, Conn::Kind::kPoll, std::move(socket));
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel));
  conn->pollCursor = cursor;
  conn->pollTimeoutMs = timeoutMs;
  conn->keepAlive = keepAlive;
  conn->reuse = std::move(reuse);
  attach(std::move(conn), cursor);
}

void Hub::addWebSocket(Poco::Net::StreamSocket socket, const std::string& channel,
                       const std::string& cursor, std::unique_ptr<WsGate> gate) {
  socket.setBlocking(false);
  socket.setNoDelay(true);
  auto conn = std::make_unique<Conn>(nextConnId_++, Conn::Kind::kWebSocket, std::move(socket));
  conn->decoder = std::make_unique<ws::Decoder>(wsMessageLimit(options_.sendMaxBytes));
  conn->gate = std::move(gate);
  if (channel.empty()) {
    pickLoop()->post(AttachCmd{std::move(conn)});
    return;
  }
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel));
  attach(std::move(conn), cursor);
}

void Hub::replayLater(HubLoop* loop, uint64_t connId, const std::string& channel,
                      const std::string& cursor) {
  workers_.run([this, loop, connId, channel, cursor] {
    std::string from = cursor;
    // Live only: "now" is taken after the loop registered the subscription,
    // so nothing published in between can slip past.
    if (from.empty() && !broker_->lastId(channel, &from).ok()) from.clear();
    loop->post(readHistory(connId, channel, from));
  });
}

void Hub::publishLater(HubLoop* loop, uint64_t connId, wsproto::Command command) {
  workers_.run([this, loop, connId, command = std::move(command)] {
    MessagePtr stored;
    Status s = broker_->publish(command.channel, command.event, command.data, &stored);
    if (s.ok()) stats_.wsPublished.fetch_add(1, std::memory_order_relaxed);
    std::string json = s.ok() ? wsproto::encodeAck(*stored, command.ref)
                              : wsproto::encodeError(s.toString(), command.ref,
                                                     s.code() == Status::Code::kUnavailable ? 503 : 500);
    loop->post(WsAnswerCmd{connId, std::make_shared<const std::string>(
                                       ws::encodeFrame(ws::kText, json))});
  });
}

}  // namespace rtdemo
