// The system wall clock behind WallClock (see clock.h).
#include "storage/clock.h"

namespace rtdemo {
namespace {

class SystemWallClock : public WallClock {
 public:
  int64_t nowMs() const override { return rtdemo::nowMs(); }
};

}  // namespace

std::shared_ptr<const WallClock> systemWallClock() {
  static const std::shared_ptr<const WallClock> clock = std::make_shared<SystemWallClock>();
  return clock;
}

}  // namespace rtdemo
