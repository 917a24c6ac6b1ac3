// The in-memory backend: history bounded by count and age, lost on restart.
//
// Every start draws a new epoch, so a client that resumes with an id from a
// previous run gets an explicit reset instead of silently missing messages.
#pragma once

#include <memory>

#include "storage/broker.h"

namespace rtdemo {

std::unique_ptr<Broker> newMemoryBroker(const BrokerConfig& config);

}  // namespace rtdemo
