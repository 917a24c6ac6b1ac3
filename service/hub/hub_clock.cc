// The system's HubClock (see hub_clock.h).
#include "service/hub/hub_clock.h"

#include "storage/clock.h"

namespace rtdemo {
namespace {

class SystemHubClock : public HubClock {
 public:
  int64_t steadyMs() const override { return rtdemo::steadyMs(); }
  int64_t wallMs() const override { return rtdemo::nowMs(); }
};

}  // namespace

std::shared_ptr<const HubClock> systemHubClock() {
  static const auto clock = std::make_shared<const SystemHubClock>();
  return clock;
}

}  // namespace rtdemo
