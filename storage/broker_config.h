// BrokerConfig: everything a backend needs to open, read once at start.
//
// The service fills this from rtdemo.* configuration keys (service/app/settings.cc);
// the defaults here are the documented defaults in etc/rtdemo.properties.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "storage/clock.h"

namespace rtdemo {

struct BrokerConfig {
  std::string backend = "sqlite";  // memory | sqlite | redis

  // Retention, per channel. 0 disables the age limit.
  size_t historySize = 1000;
  int64_t historyMaxAgeSeconds = 86400;
  // Retention across all channels (storage/history_cap.h).
  uint64_t historyMaxBytes = 256ull << 20;
  size_t historyMaxChannels = 100000;

  // Limits of one Broker::publishBatch (rtdemo.send.batch.max-messages and
  // rtdemo.send.batch.max-bytes): elements, and their summed messageCost()
  // (data + event + 64 each, storage/history_cap.h).
  size_t batchMaxMessages = 1000;
  uint64_t batchMaxBytes = 1ull << 20;

  // SQLite.
  std::string sqlitePath = "var/rtdemo.db";
  std::string sqliteSynchronous = "full";  // full | normal
  int sqliteBusyTimeoutMs = 5000;

  // Redis.
  std::string redisHost = "127.0.0.1";
  int redisPort = 6379;
  std::string redisPassword;  // empty: no AUTH
  int redisDb = 0;
  std::string redisPrefix = "rtdemo:";
  int redisTimeoutMs = 2000;

  // The clock that memory and SQLite stamp and age messages by; null: the
  // system clock. Only tests set it (Redis stamps and ages messages by the
  // Redis server's clock, and Durable Streams' TTLs by this one when set).
  std::shared_ptr<const WallClock> clock;
};

}  // namespace rtdemo
