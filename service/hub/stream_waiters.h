// StreamWaiters: Durable Streams readers that wait for a stream to move (a
// long poll at the tail, an SSE reader that has caught up), held here with
// their detached sockets so that no HTTP pool thread waits
// (docs/durable-streams.md; service/http/streams_read.cc uses it).
//
// A waiter is woken by the first live message on its channel (one Broker
// subscription per channel with waiters), by wake(channel) (a close-only
// append or a delete, which publish nothing), or by its deadline. Its
// continuation then runs on one of this class's worker threads, with the
// socket: it reads what is new and writes it, and either asks to wait
// again after a new id (an SSE reader) or lets the socket go, which closes
// it and tells onRelease.
//
// Deliberately apart from the hub loops (hub_loop.h): a waiter holds no
// output buffer and is written by its continuation with blocking sends
// (bounded by a send timeout), which is enough for readers that each get a
// whole answer at once. Moving them onto the loops is future work.
//
// Thread-safe: add() and wake() from any thread; live callbacks on backend
// threads. stop() closes every waiter (clients reconnect) and joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "Poco/Net/StreamSocket.h"
#include "service/hub/worker_pool.h"
#include "storage/broker.h"

namespace rtdemo {

class StreamWaiters {
 public:
  // What a woken waiter does, on a worker thread: answers on `socket` and
  // returns the id to wait after next, or nullopt when it is done (the
  // socket is then closed and released).
  using Continue =
      std::function<std::optional<std::string>(Poco::Net::StreamSocket& socket, bool timedOut)>;

  StreamWaiters(Broker* broker, std::function<void(int fd)> onRelease);
  ~StreamWaiters();

  void start();
  void stop();

  // Holds `socket` until `channel` gets a message after `afterId`, wake()
  // or `timeoutMs` passes; then runs `next`. A message already there (the
  // tail is no longer `afterId`) wakes it at once.
  void add(Poco::Net::StreamSocket socket, const std::string& channel,
           const std::string& afterId, int64_t timeoutMs, Continue next);

  // Wakes every waiter of `channel` (the stream changed without a message).
  void wake(const std::string& channel);

  size_t waiting() const;

 private:
  struct Waiter {
    Poco::Net::StreamSocket socket;
    std::string channel;
    int64_t timeoutMs = 0;
    int64_t deadline = 0;  // steady ms
    Continue next;
  };
  struct Channel {
    std::unique_ptr<Subscription> subscription;
    std::vector<uint64_t> waiters;
  };

  void fire(const std::vector<uint64_t>& ids, bool timedOut);  // mu_ held
  void run(Waiter waiter, bool timedOut);                       // on a worker
  void timerLoop();
  void release(Poco::Net::StreamSocket& socket);

  Broker* const broker_;
  const std::function<void(int)> onRelease_;
  WorkerPool workers_;
  std::thread timer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::map<uint64_t, Waiter> waiters_;
  std::multimap<int64_t, uint64_t> deadlines_;
  std::map<std::string, Channel> channels_;
  uint64_t nextId_ = 1;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace rtdemo
