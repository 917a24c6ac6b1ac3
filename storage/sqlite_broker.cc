// openSqliteBroker(): opens the file, the readers and the writer of a
// SqliteBroker (sqlite_broker_impl.h, which tells the life of a publish).
#include "storage/sqlite_broker.h"

#include <memory>
#include <vector>

#include "storage/sqlite_broker_impl.h"

namespace rtdemo {

using sqlite_detail::kReaders;
using sqlite_detail::SqliteBroker;
using Poco::Data::Session;

std::unique_ptr<Broker> openSqliteBroker(const BrokerConfig& config,
                                         Status* status) {
  *status = Status::OK();
  SqliteOpened opened;
  Status s = openSqliteFile(config, &opened);
  if (!s.ok()) {
    *status = s;
    return nullptr;
  }
  const std::string path = opened.path;
  try {
    std::vector<std::unique_ptr<Session>> readers;
    for (size_t i = 0; i < kReaders; ++i)
      readers.push_back(openSqliteReader(path, config.sqliteBusyTimeoutMs));
    auto broker = std::make_unique<SqliteBroker>(config, std::move(opened),
                                                 std::move(readers));
    broker->start();
    return broker;
  } catch (const Poco::Exception& e) {
    *status = sqliteStatus(e, "opening " + path);
    return nullptr;
  }
}

}  // namespace rtdemo
