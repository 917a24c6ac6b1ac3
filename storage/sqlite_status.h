// The one place where SQLite failures become Status values, and where a
// failed transaction is ended.
//
// Every Poco::Data call of the SQLite backend (opening, the writer thread,
// the readers) catches Poco::Exception and passes it through sqliteStatus(),
// so that the same failure always reads the same way in logs and in the 503
// body a publisher gets. Stateless and thread-safe.
#pragma once

#include <string>

#include "Poco/Data/Session.h"
#include "Poco/Exception.h"
#include "storage/status.h"

namespace rtdemo {

// `what` names the operation ("storing a message", "reading history"). A
// corrupt file becomes Corruption; everything else that SQLite or the disk
// can do to us at runtime (busy, full, I/O error, read-only) is Unavailable,
// because retrying later may succeed.
Status sqliteStatus(const Poco::Exception& e, const std::string& what);

// True when `e` means another connection holds the lock we waited for.
bool sqliteIsLocked(const Poco::Exception& e);

// Ends the failed transaction on `s`, if one is still open: SQLite may have
// rolled it back already (it does on SQLITE_FULL), or none was begun.
void rollbackQuietly(Poco::Data::Session& s);

}  // namespace rtdemo
