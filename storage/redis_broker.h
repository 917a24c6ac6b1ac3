// The Redis backend: history in one Redis Stream per channel, shared by any
// number of rtdemo instances. See storage/redis_broker.cc for the design.
#pragma once

#include <memory>

#include "storage/broker.h"

namespace rtdemo {

// Opens the Redis backend. An unreachable Redis is not an error: the broker
// is returned anyway, answers Unavailable until Redis is reachable, and keeps
// retrying with backoff (a warning is logged). Returns nullptr and sets
// *status only for a configuration it cannot use.
std::unique_ptr<Broker> openRedisBroker(const BrokerConfig& config, Status* status);

}  // namespace rtdemo
