// Implementation of the SQLite error translator and rollback (see sqlite_status.h).
#include "storage/sqlite_status.h"

#include "Poco/Data/SQLite/SQLiteException.h"

namespace rtdemo {

namespace sq = Poco::Data::SQLite;

bool sqliteIsLocked(const Poco::Exception& e) {
  return dynamic_cast<const sq::DBLockedException*>(&e) != nullptr ||
         dynamic_cast<const sq::TableLockedException*>(&e) != nullptr;
}

Status sqliteStatus(const Poco::Exception& e, const std::string& what) {
  std::string prefix = what + ": ";
  if (sqliteIsLocked(e)) {
    return Status::Unavailable(prefix +
                               "the database is locked by another process");
  }
  if (dynamic_cast<const sq::DatabaseFullException*>(&e)) {
    return Status::Unavailable(prefix + "the disk is full (" + e.displayText() +
                               ")");
  }
  if (dynamic_cast<const sq::CorruptImageException*>(&e)) {
    return Status::Corruption(prefix + "the database file is corrupt (" +
                              e.displayText() + ")");
  }
  if (dynamic_cast<const sq::IOErrorException*>(&e)) {
    return Status::Unavailable(prefix + "I/O error (" + e.displayText() + ")");
  }
  if (dynamic_cast<const sq::ReadOnlyException*>(&e)) {
    return Status::Unavailable(prefix + "the database is read-only (" +
                               e.displayText() + ")");
  }
  return Status::Unavailable(prefix + e.displayText());
}

void rollbackQuietly(Poco::Data::Session& s) {
  try {
    s << "ROLLBACK", Poco::Data::Keywords::now;
  } catch (const Poco::Exception&) {
  }
}

}  // namespace rtdemo
