// Implementation of Hub (see hub.h, and hub_loop.h for the seam between
// history replay and live delivery).
#include "service/hub/hub.h"

#include <future>

#include "service/protocol/history_page.h"
#include "service/protocol/ws_frame.h"
#include "storage/clock.h"

namespace rtdemo {
namespace {

// WebSocket messages carry JSON around the data, which escaping can double.
size_t wsMessageLimit(size_t sendMaxBytes) { return sendMaxBytes * 2 + 4096; }

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
  // The loops' last releases are queued there: let them run, so that every
  // Broker subscription is dropped on the thread that made it.
  feedThread_.drain();
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

// ---------------------------------------------------------------------------
// Feeds

void Hub::acquireFeed(const std::string& channel, std::function<void()> ready) {
  std::shared_ptr<Feed> feed;
  {
    std::lock_guard<std::mutex> lock(feedsMu_);
    std::shared_ptr<Feed>& slot = feeds_[channel];
    if (!slot) slot = std::make_shared<Feed>();
    feed = slot;
    if (feed->users++ > 0) {
      if (!feed->ready) {
        if (ready) feed->waiters.push_back(std::move(ready));
        return;
      }
      feed.reset();  // ready: run `ready` below, outside the lock
    } else if (ready) {
      feed->waiters.push_back(std::move(ready));
    }
  }
  if (!feed) {
    if (ready) ready();
    return;
  }
  // The first user: subscribe on the feed thread, which also runs every
  // release, so a release always follows the subscribe it undoes.
  auto subscribe = [this, channel, feed](bool stopping) {
    std::unique_ptr<Subscription> subscription;
    if (!stopping)
      subscription = broker_->subscribe(channel, [this](const MessagePtr& m) { onLive(m); });
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard<std::mutex> lock(feedsMu_);
      feed->subscription = std::move(subscription);
      feed->ready = true;
      waiters.swap(feed->waiters);
    }
    for (auto& w : waiters) w();
  };
  // Once the hub is stopping nothing will be delivered any more; the
  // waiters still run, so that no handler waits for a feed forever.
  if (!feedThread_.run([subscribe] { subscribe(false); })) subscribe(true);
}

void Hub::releaseFeed(const std::string& channel) {
  std::shared_ptr<Feed> dropped;
  {
    std::lock_guard<std::mutex> lock(feedsMu_);
    auto it = feeds_.find(channel);
    if (it == feeds_.end()) return;
    if (--it->second->users > 0) return;
    dropped = std::move(it->second);
    feeds_.erase(it);
  }
  // Unsubscribing waits for an in-flight delivery, and for Redis it may
  // wait on the network: never on a loop. Queued after the subscribe.
  feedThread_.run([dropped] {
    std::unique_ptr<Subscription> gone;
    gone.swap(dropped->subscription);
  });
}

void Hub::onLive(const MessagePtr& message) {
  // Runs on a backend thread: encode once, then only queue.
  auto event = std::make_shared<const LiveEvent>(message);
  for (auto& loop : loops_) loop->post(LiveCmd{event});
}

// ---------------------------------------------------------------------------
// History pages

ReplayCmd Hub::readPage(const PageRequest& r) {
  ReplayCmd page;
  page.connId = r.connId;
  page.channel = r.channel;
  page.generation = r.generation;
  page.first = r.first;
  std::string from = r.cursor;
  // Live only: "now" is taken after the subscription was registered and its
  // feed subscribed, so nothing published in between can slip past.
  if (r.resolveNow && !broker_->lastId(r.channel, &from).ok()) from.clear();
  page.cursor = from;
  if (!from.empty()) {
    Status s = broker_->readAfter(r.channel, from, r.limit, &page.history);
    if (!s.ok()) {
      page.error = s.toString();
      return page;
    }
    page.more = page.history.messages.size() >= r.limit;
    if (trimToBudget(&page.history.messages, r.budgetBytes)) page.more = true;
  }
  // After the read: if the epoch moved (a flushed Redis), the reset must
  // name the epoch the history came from.
  page.epochStart = MessageId::start(broker_->epoch()).toString();
  return page;
}

bool Hub::readPageLater(HubLoop* loop, PageRequest request, bool client) {
  auto task = [this, loop, request = std::move(request)] { loop->post(readPage(request)); };
  if (!client) {
    workers_.run(std::move(task));
    return true;
  }
  if (workers_.tryRun(std::move(task), options_.workerQueueMax)) return true;
  stats_.busyRefusals.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool Hub::subscribeLater(HubLoop* loop, PageRequest request) {
  // The bound is checked here and the read queued once the feed is ready,
  // so several loops may pass it together: it is a bound, not an exact cap.
  if (workers_.queued() >= options_.workerQueueMax) {
    stats_.busyRefusals.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const std::string channel = request.channel;
  acquireFeed(channel, [this, loop, request = std::move(request)] {
    readPageLater(loop, request, false);
  });
  return true;
}

bool Hub::publishLater(HubLoop* loop, uint64_t connId, wsproto::Command command) {
  bool queued = workers_.tryRun(
      [this, loop, connId, command = std::move(command)] {
        MessagePtr stored;
        Status s = broker_->publish(command.channel, command.event, command.data, &stored);
        if (s.ok()) stats_.wsPublished.fetch_add(1, std::memory_order_relaxed);
        std::string json = s.ok() ? wsproto::encodeAck(*stored, command.ref)
                                  : wsproto::encodeError(s.toString(), command.ref,
                                                         s.code() == Status::Code::kUnavailable ? 503 : 500);
        loop->post(WsAnswerCmd{connId, std::make_shared<const std::string>(
                                           ws::encodeFrame(ws::kText, json))});
      },
      options_.workerQueueMax);
  if (!queued) stats_.busyRefusals.fetch_add(1, std::memory_order_relaxed);
  return queued;
}

// ---------------------------------------------------------------------------
// Taking connections from the handlers (pool threads)

void Hub::attach(std::unique_ptr<Conn> conn, const std::string& cursor) {
  // Order matters (see hub_loop.h): subscribe, register, then read history.
  const std::string channel = conn->subs.front()->channel;
  const uint64_t id = conn->id;
  const uint64_t generation = conn->subs.front()->generation;
  const bool poll = conn->kind == Conn::Kind::kPoll;
  std::promise<void> subscribed;
  acquireFeed(channel, [&subscribed] { subscribed.set_value(); });
  subscribed.get_future().wait();  // a pool thread may wait; a loop never does
  HubLoop* loop = pickLoop();
  loop->post(AttachCmd{std::move(conn)});
  PageRequest first;
  first.connId = id;
  first.channel = channel;
  first.generation = generation;
  first.first = true;
  first.cursor = cursor;
  // A poll answers with one page: at most a batch, and one more to tell
  // whether the batch is complete.
  first.limit = poll ? options_.pollMaxBatch + 1 : kFirstPageMessages;
  first.budgetBytes = poll ? pollPageBudget(options_.maxBufferBytes)
                           : streamPageBudget(options_.maxBufferBytes);
  loop->post(readPage(first));
}

void Hub::addStream(Poco::Net::StreamSocket socket, const std::string& channel,
                    const std::string& cursor, std::optional<int64_t> tokenExpiresAt) {
  prepare(socket);
  auto conn = std::make_unique<Conn>(nextConnId_++, Conn::Kind::kStream, std::move(socket));
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel, 1));
  conn->subs.front()->expiresSteadyMs = expiryDeadline(tokenExpiresAt, options_.tokenLeewaySeconds);
  attach(std::move(conn), cursor);
}

void Hub::addPoll(Poco::Net::StreamSocket socket, const std::string& channel,
                  const std::string& cursor, int64_t timeoutMs,
                  bool keepAlive, PollReuse reuse, std::string buffered,
                  std::optional<int64_t> tokenExpiresAt) {
  prepare(socket);
  auto conn = std::make_unique<Conn>(nextConnId_++, Conn::Kind::kPoll, std::move(socket));
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel, 1));
  conn->subs.front()->expiresSteadyMs = expiryDeadline(tokenExpiresAt, options_.tokenLeewaySeconds);
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
  conn->decoder = std::make_unique<ws::Decoder>(wsMessageLimit(options_.sendMaxBytes));
  conn->gate = std::move(gate);
  conn->subscribeTokens = static_cast<double>(options_.wsMaxSubscriptions);
  conn->input = std::move(buffered);
  if (channel.empty()) {
    pickLoop()->post(AttachCmd{std::move(conn)});
    return;
  }
  conn->subs.push_back(std::make_unique<Sub>(conn.get(), channel, 1));
  conn->subs.front()->expiresSteadyMs = expiryDeadline(tokenExpiresAt, options_.tokenLeewaySeconds);
  attach(std::move(conn), cursor);
}

}  // namespace rtdemo
