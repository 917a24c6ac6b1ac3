// Implementation of Hub (see hub.h, and hub_loop.h for the seam between
// history replay and live delivery).
#include "service/hub/hub.h"

#include <algorithm>
#include <cstdint>

#include "service/protocol/history_page.h"
#include "service/protocol/ws_frame.h"
#include "storage/clock.h"

namespace rtdemo {
namespace {

// WebSocket messages carry JSON around the data, which escaping can double;
// a publish may also be a batch (send_batch.h), whose JSON gets twice its
// counted bytes, as a POST /send body does.
size_t wsMessageLimit(const HubOptions& options) {
  const uint64_t single = static_cast<uint64_t>(options.sendMaxBytes) * 2 + 4096;
  const uint64_t batch = options.batchMaxBytes * 2 + 4096;
  return static_cast<size_t>(std::min<uint64_t>(std::max(single, batch), SIZE_MAX / 2));
}

// Every socket a loop holds is non-blocking; TCP ones also send each write
// at once. (Tests hand the hub Unix socketpairs, which have no Nagle to
// turn off.)
void prepare(Poco::Net::StreamSocket& socket) {
  socket.setBlocking(false);
  try {
    socket.setNoDelay(true);
  } catch (const Poco::Exception&) {
  }
}

}  // namespace

Hub::Hub(Broker* broker, const HubOptions& options)
    : options_(options),
      gateway_(broker, options_, &stats_, [this](const MessagePtr& m) { onLive(m); }),
      streamWaiters_(broker, options_.onRelease) {
  for (int i = 0; i < std::max(1, options.loops); ++i)
    loops_.push_back(std::make_unique<HubLoop>(&gateway_, options_, &stats_));
}

Hub::~Hub() { stop(); }

void Hub::start() {
  if (started_.exchange(true)) return;
  for (auto& loop : loops_) loop->start();
  streamWaiters_.start();
}

void Hub::stop() {
  streamWaiters_.stop();
  for (auto& loop : loops_) loop->stopAndJoin();
  // The loops' last releases are queued on the feed thread: let them run,
  // so that every Broker subscription is dropped on the thread that made it.
  gateway_.stop();
}

bool Hub::alive(int64_t withinMs) const {
  int64_t now = steadyMs();
  for (const auto& loop : loops_) {
    if (now - loop->lastTurnMs() > withinMs) return false;
  }
  return true;
}

void Hub::wake() {
  for (auto& loop : loops_) loop->post(WakeCmd{});
}

HubLoop* Hub::pickLoop() {
  return loops_[nextLoop_.fetch_add(1, std::memory_order_relaxed) %
                loops_.size()]
      .get();
}

void Hub::onLive(const MessagePtr& message) {
  // Runs on a backend thread: encode once, then only queue.
  auto event = std::make_shared<const LiveEvent>(message);
  for (auto& loop : loops_) loop->post(LiveCmd{event});
}

// ---------------------------------------------------------------------------
// Taking connections from the handlers (pool threads)

void Hub::attach(std::unique_ptr<Conn> conn, const std::string& cursor) {
  // Order matters (see hub_loop.h): subscribe, register, then read history.
  // A pool thread may wait for the Broker; a loop never does.
  const std::string channel = conn->subs.front()->channel;
  const bool poll = conn->kind == Conn::Kind::kPoll;
  PageRequest first;
  first.connId = conn->id;
  first.channel = channel;
  first.generation = conn->subs.front()->generation;
  first.first = true;
  first.cursor = cursor;
  // A poll answers with one page: at most a batch, and one more to tell
  // whether the batch is complete.
  first.limit = poll ? options_.pollMaxBatch + 1 : kFirstPageMessages;
  first.budgetBytes = poll ? pollPageBudget(options_.maxBufferBytes)
                           : streamPageBudget(options_.maxBufferBytes);
  gateway_.acquireFeedAndWait(channel);
  HubLoop* loop = pickLoop();
  loop->post(AttachCmd{std::move(conn)});
  loop->post(gateway_.readPageNow(first));
}

void Hub::addStream(Poco::Net::StreamSocket socket, const std::string& channel,
                    const std::string& cursor, std::optional<int64_t> tokenExpiresAt) {
  prepare(socket);
  auto conn = std::make_unique<Conn>(nextConnId_++, Conn::Kind::kStream, std::move(socket));
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel, 1));
  conn->subs.front()->expiresSteadyMs = expiryDeadline(*options_.clock, tokenExpiresAt, options_.tokenLeewaySeconds);
  attach(std::move(conn), cursor);
}

void Hub::addPoll(Poco::Net::StreamSocket socket, const std::string& channel,
                  const std::string& cursor, int64_t timeoutMs,
                  bool keepAlive, PollReuse reuse, std::string buffered,
                  std::optional<int64_t> tokenExpiresAt) {
  prepare(socket);
  auto conn = std::make_unique<Conn>(nextConnId_++, Conn::Kind::kPoll, std::move(socket));
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel, 1));
  conn->subs.front()->expiresSteadyMs = expiryDeadline(*options_.clock, tokenExpiresAt, options_.tokenLeewaySeconds);
  conn->pollCursor = cursor;
  conn->pollTimeoutMs = timeoutMs;
  conn->keepAlive = keepAlive;
  conn->reuse = std::move(reuse);
  conn->input = std::move(buffered);
  attach(std::move(conn), cursor);
}

void Hub::addWebSocket(Poco::Net::StreamSocket socket, const std::string& channel,
                       const std::string& cursor, std::unique_ptr<WsGate> gate,
                       std::string buffered, std::optional<int64_t> tokenExpiresAt) {
  prepare(socket);
  auto conn = std::make_unique<Conn>(nextConnId_++, Conn::Kind::kWebSocket, std::move(socket));
  conn->decoder = std::make_unique<ws::Decoder>(wsMessageLimit(options_));
  conn->gate = std::move(gate);
  conn->subscribeTokens = static_cast<double>(options_.wsMaxSubscriptions);
  conn->input = std::move(buffered);
  if (channel.empty()) {
    pickLoop()->post(AttachCmd{std::move(conn)});
    return;
  }
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel, 1));
  conn->subs.front()->expiresSteadyMs = expiryDeadline(*options_.clock, tokenExpiresAt, options_.tokenLeewaySeconds);
  attach(std::move(conn), cursor);
}

}  // namespace rtdemo
