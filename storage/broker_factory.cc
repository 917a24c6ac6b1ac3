// openBroker(): picks the backend named in the configuration.
#include "storage/broker.h"
#include "storage/memory_broker.h"
#include "storage/sqlite_broker.h"
#include "storage/redis_broker.h"

namespace rtdemo {

std::unique_ptr<Broker> openBroker(const BrokerConfig& config, Status* status) {
  *status = Status::OK();
  if (config.backend == "memory") return newMemoryBroker(config);
  if (config.backend == "redis") return openRedisBroker(config, status);
  if (config.backend == "sqlite") return openSqliteBroker(config, status);
  *status = Status::InvalidArgument("unknown backend '" + config.backend +
                                    "' (expected memory, sqlite or redis)");
  return nullptr;
}

}  // namespace rtdemo
