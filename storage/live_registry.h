// LiveRegistry: the live-subscriber table that backends share.
//
// A backend calls deliver() once per stored message, in id order per channel;
// the registry invokes every callback subscribed to that channel. It exists so
// that memory, SQLite and Redis all give the same guarantees to the hub:
//   - no callback runs after its Subscription has been destroyed;
//   - callbacks of one channel see messages in the order deliver() saw them.
//
// Thread-safe. deliver() may run on several threads for different channels at
// once; add/remove wait for in-flight deliveries of the registry to finish.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "storage/broker.h"

namespace rtdemo {

class LiveRegistry {
 public:
  // Called with the channel name when it gains its first subscriber and when
  // it loses its last one (Redis starts and stops reading it). Runs under the
  // registry lock: it must not call back into the registry.
  using ChannelHook = std::function<void(const std::string& channel, bool active)>;

  LiveRegistry() = default;
  explicit LiveRegistry(ChannelHook hook) : hook_(std::move(hook)) {}

  std::unique_ptr<Subscription> add(const std::string& channel,
                                    LiveCallback cb);
  void deliver(const MessagePtr& message);

 private:
  class Handle;
  void remove(const std::string& channel, uint64_t token);

  const ChannelHook hook_;

  mutable std::shared_mutex mu_;
  // Guarded by mu_.
  uint64_t nextToken_ = 1;
  std::unordered_map<std::string, std::map<uint64_t, LiveCallback>> byChannel_;
};

}  // namespace rtdemo
