// The SQLite backend: history in one local database file, kept across
// restarts and crashes (issue 3). The default backend.
//
// Everything about it lives in sqlite_broker.cc (the broker: group commit,
// reads, trimming) and sqlite_schema.cc (the start-up checks and the schema).
#pragma once

#include <memory>

#include "storage/broker.h"

namespace rtdemo {

// Opens config.sqlitePath, creating a new history (with a new epoch) when the
// file is missing or empty. On failure returns nullptr and sets *status to a
// one-line reason; the file is then left as it was. The returned broker holds
// the file exclusively until it is destroyed.
std::unique_ptr<Broker> openSqliteBroker(const BrokerConfig& config,
                                         Status* status);

}  // namespace rtdemo
