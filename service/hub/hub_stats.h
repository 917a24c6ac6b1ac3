// HubStats: counters the hub keeps for /metrics and the logs.
//
// Plain relaxed atomics: each is written by hub loops and read by the metrics
// handler; no two need to agree with each other at any instant.
#pragma once

#include <atomic>
#include <cstdint>

namespace rtdemo {

struct HubStats {
  std::atomic<int64_t> streamsOpen{0};       // SSE connections held now
  std::atomic<int64_t> pollsHeld{0};         // long polls held now (replaying or parked)
  std::atomic<int64_t> pollsParked{0};       // of them, waiting for a message or their timeout
  std::atomic<int64_t> pollsIdle{0};         // answered keep-alive polls idling on a loop
  std::atomic<int64_t> websocketsOpen{0};    // WebSocket connections held now
  std::atomic<uint64_t> delivered{0};        // message writes to connections
  std::atomic<uint64_t> replayed{0};         // messages sent from history
  std::atomic<uint64_t> resets{0};           // cursors answered with reset
  std::atomic<uint64_t> slowDisconnects{0};  // cut off at the buffer limit
  std::atomic<uint64_t> heartbeats{0};       // heartbeat writes
  std::atomic<uint64_t> pollsContinued{0};   // re-polls read by a hub loop
  std::atomic<uint64_t> wsPublished{0};      // messages stored by WebSocket publish
  std::atomic<int64_t> batchingLoops{0};     // hub loops sending through io_uring
  std::atomic<uint64_t> connErrors{0};       // connections closed after an exception
  std::atomic<uint64_t> busyRefusals{0};     // requests refused: workers' queue full
  std::atomic<uint64_t> historyPages{0};     // history pages read for replays
  std::atomic<uint64_t> tokenExpiries{0};    // subscriptions ended at their token's exp
};

}  // namespace rtdemo
