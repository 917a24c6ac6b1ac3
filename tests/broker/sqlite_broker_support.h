// What the SQLite backend's own tests share (sqlite_broker_test.cc and the
// sqlite_*_test.cc next to it): a raw connection as another program would
// open one, and the SqliteBrokerTest fixture, whose TempDir
// (tests/support/temp_dir.h) holds each test's files.
//
// The read-only and full-disk cases mount a tmpfs, so these tests run as
// root (they do under CI and in the dev container). One test thread each.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "Poco/Data/SQLite/Connector.h"
#include "Poco/Data/Session.h"
#include "storage/sqlite_broker.h"
#include "tests/broker/broker_harness.h"
#include "tests/support/temp_dir.h"

namespace rtdemo {

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

// A raw connection, as another program (the sqlite3 shell, say) would open.
// It waits for the broker's writer like another program would (the writer's
// maintenance step may hold the write lock for a moment at any time).
inline Poco::Data::Session rawSession(const std::string& path) {
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session s("SQLite", path, 0);
  s << "PRAGMA busy_timeout = 5000", now;
  return s;
}

class SqliteBrokerTest : public ::testing::Test {
 protected:
  BrokerConfig config(const std::string& name = "history.db") {
    BrokerConfig c;
    c.backend = "sqlite";
    c.sqlitePath = dir_.file(name);
    c.sqliteBusyTimeoutMs = 2000;
    return c;
  }
  std::unique_ptr<Broker> open(const BrokerConfig& c) {
    Status s;
    auto broker = openSqliteBroker(c, &s);
    EXPECT_TRUE(s.ok()) << s.toString();
    return broker;
  }
  // Opening must fail; returns the reason.
  std::string refuse(const BrokerConfig& c) {
    Status s;
    auto broker = openSqliteBroker(c, &s);
    EXPECT_EQ(broker, nullptr);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
    return s.message();
  }
  std::string publish(Broker* b, const std::string& channel, const std::string& data) {
    MessagePtr m;
    Status s = b->publish(channel, "", data, &m);
    EXPECT_TRUE(s.ok()) << s.toString();
    return s.ok() ? m->idText : "";
  }
  HistoryRead read(Broker* b, const std::string& channel, const std::string& cursor) {
    HistoryRead h;
    Status s = b->readAfter(channel, cursor, 100000, &h);
    EXPECT_TRUE(s.ok()) << s.toString();
    return h;
  }
  // Rows physically in the file (not what reads show, which retention filters).
  int64_t storedRows(const std::string& path) {
    auto s = rawSession(path);
    Poco::Int64 n = -1;
    s << "SELECT count(*) FROM messages", into(n), now;
    return n;
  }
  // A database that openSqliteBroker wrote and closed, with one message.
  std::string closedHistory() {
    BrokerConfig c = config();
    auto b = open(c);
    publish(b.get(), "c", "kept");
    return c.sqlitePath;
  }

  TempDir dir_{"rtdemo-sqlite"};
};

}  // namespace rtdemo
