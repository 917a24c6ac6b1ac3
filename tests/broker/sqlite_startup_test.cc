// SQLite start-up refusals: a path or file that cannot be rtdemo's history
// is refused with one clear line, and the file is left as it was.
#include "storage/sqlite_schema.h"
#include "tests/broker/sqlite_broker_support.h"

namespace rtdemo {
namespace {

TEST_F(SqliteBrokerTest, MissingDirectoryIsRefused) {
  BrokerConfig c = config();
  c.sqlitePath = dir_.file("no/such/dir/history.db");
  std::string why = refuse(c);
  EXPECT_NE(why.find("does not exist"), std::string::npos) << why;
  EXPECT_NE(why.find(dir_.file("no/such/dir")), std::string::npos) << why;
}

TEST_F(SqliteBrokerTest, ReadOnlyDirectoryIsRefused) {
  std::string dir = dir_.mountTmpfs("ro", 65536, true);
  BrokerConfig c = config();
  c.sqlitePath = dir + "/history.db";
  std::string why = refuse(c);
  EXPECT_NE(why.find("not writable"), std::string::npos) << why;
  EXPECT_FALSE(exists(c.sqlitePath));
}

TEST_F(SqliteBrokerTest, FileThatIsNotADatabaseIsRefusedUntouched) {
  BrokerConfig c = config();
  std::string text = "these are my notes, not a database\n";
  for (int i = 0; i < 50; ++i) text += "line " + std::to_string(i) + "\n";
  spit(c.sqlitePath, text);
  std::string why = refuse(c);
  EXPECT_NE(why.find("not a SQLite database"), std::string::npos) << why;
  EXPECT_EQ(slurp(c.sqlitePath), text);
  EXPECT_FALSE(exists(c.sqlitePath + "-wal"));
}

TEST_F(SqliteBrokerTest, CorruptDatabaseIsRefusedUntouched) {
  BrokerConfig c = config();
  {
    auto b = open(c);
    for (int i = 0; i < 300; ++i) publish(b.get(), "c" + std::to_string(i % 7), std::string(300, 'a'));
  }
  std::string bytes = slurp(c.sqlitePath);
  ASSERT_GT(bytes.size(), 8 * 4096u);
  // Scribble over pages 2 to 5: b-tree pages of the history tables.
  for (size_t i = 4096; i < 5 * 4096; ++i) bytes[i] = static_cast<char>(i * 7);
  spit(c.sqlitePath, bytes);
  std::string why = refuse(c);
  EXPECT_NE(why.find("corrupt"), std::string::npos) << why;
  EXPECT_EQ(slurp(c.sqlitePath), bytes);
}

TEST_F(SqliteBrokerTest, ForeignSqliteDatabaseIsRefusedUntouched) {
  BrokerConfig c = config();
  {
    auto s = rawSession(c.sqlitePath);
    s << "CREATE TABLE invoices(id INTEGER PRIMARY KEY, amount INTEGER)", now;
    s << "INSERT INTO invoices(amount) VALUES(42)", now;
  }
  std::string before = slurp(c.sqlitePath);
  std::string why = refuse(c);
  EXPECT_NE(why.find("not an rtdemo history"), std::string::npos) << why;
  EXPECT_EQ(slurp(c.sqlitePath), before);
}

TEST_F(SqliteBrokerTest, NewerSchemaIsRefusedUntouched) {
  std::string path = closedHistory();
  {
    auto s = rawSession(path);
    s << "PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion + 1), now;
  }
  std::string before = slurp(path);
  std::string why = refuse(config());
  EXPECT_NE(why.find("schema version " + std::to_string(kSqliteSchemaVersion + 1)),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("newer"), std::string::npos) << why;
  EXPECT_EQ(slurp(path), before);
}

TEST_F(SqliteBrokerTest, UnknownSchemaIsRefusedUntouched) {
  std::string path = closedHistory();
  {
    auto s = rawSession(path);
    s << "PRAGMA user_version = 0", now;
  }
  std::string before = slurp(path);
  std::string why = refuse(config());
  EXPECT_NE(why.find("unknown rtdemo schema version 0"), std::string::npos) << why;
  EXPECT_EQ(slurp(path), before);
}

TEST_F(SqliteBrokerTest, FileHeldByAnotherBrokerIsRefusedAfterTheBusyTimeout) {
  BrokerConfig c = config();
  c.sqliteBusyTimeoutMs = 200;
  auto first = open(c);
  std::string id = publish(first.get(), "c", "mine");
  std::string why = refuse(c);
  EXPECT_NE(why.find("locked by another process"), std::string::npos) << why;
  EXPECT_NE(why.find("200 ms"), std::string::npos) << why;
  // The owner is unaffected.
  EXPECT_EQ(read(first.get(), "c", "").messages.size(), 1u);
  publish(first.get(), "c", "still mine");
}

TEST_F(SqliteBrokerTest, DatabaseLockedByAnotherWriterIsRefused) {
  std::string path = closedHistory();
  auto other = rawSession(path);
  other << "BEGIN IMMEDIATE", now;
  BrokerConfig c = config();
  c.sqliteBusyTimeoutMs = 200;
  std::string why = refuse(c);
  EXPECT_NE(why.find("locked by another process"), std::string::npos) << why;
  other << "ROLLBACK", now;
  auto b = open(c);
  EXPECT_EQ(read(b.get(), "c", "").messages.size(), 1u);
}

TEST_F(SqliteBrokerTest, EmptyFileBecomesANewHistory) {
  BrokerConfig c = config();
  spit(c.sqlitePath, "");
  auto b = open(c);
  publish(b.get(), "c", "x");
  EXPECT_EQ(read(b.get(), "c", "").messages.size(), 1u);
}

}  // namespace
}  // namespace rtdemo
