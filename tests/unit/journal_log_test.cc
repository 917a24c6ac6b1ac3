// journal_log.h: when rtdemo takes stderr for the journal, and the priority
// prefix its lines then carry (journald reads "<N>" as the line's priority).
#include "service/app/journal_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <string>

namespace rtdemo {
namespace {

class JournalStreamEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = getenv("JOURNAL_STREAM");
    hadOld_ = old != nullptr;
    if (hadOld_) old_ = old;
  }
  void TearDown() override {
    if (hadOld_)
      setenv("JOURNAL_STREAM", old_.c_str(), 1);
    else
      unsetenv("JOURNAL_STREAM");
  }
  static std::string stderrId() {
    struct stat st;
    EXPECT_EQ(fstat(2, &st), 0);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }
  bool hadOld_ = false;
  std::string old_;
};

TEST_F(JournalStreamEnv, NotTheJournalWithoutJournalStream) {
  unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(stderrIsJournal());
}

TEST_F(JournalStreamEnv, TheJournalWhenItNamesStderr) {
  setenv("JOURNAL_STREAM", stderrId().c_str(), 1);
  EXPECT_TRUE(stderrIsJournal());
}

TEST_F(JournalStreamEnv, NotTheJournalWhenStderrIsAnotherFile) {
  // systemd set it, but the service redirected stderr (2>file): not ours.
  setenv("JOURNAL_STREAM", (stderrId() + "1").c_str(), 1);
  EXPECT_FALSE(stderrIsJournal());
  setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(stderrIsJournal());
}

TEST(JournalPriority, PocoPrioritiesAreSyslogLevels) {
  EXPECT_EQ(journalPriorityPrefix(Poco::Message::PRIO_FATAL), "<1>");
  EXPECT_EQ(journalPriorityPrefix(Poco::Message::PRIO_CRITICAL), "<2>");
  EXPECT_EQ(journalPriorityPrefix(Poco::Message::PRIO_ERROR), "<3>");
  EXPECT_EQ(journalPriorityPrefix(Poco::Message::PRIO_WARNING), "<4>");
  EXPECT_EQ(journalPriorityPrefix(Poco::Message::PRIO_NOTICE), "<5>");
  EXPECT_EQ(journalPriorityPrefix(Poco::Message::PRIO_INFORMATION), "<6>");
  EXPECT_EQ(journalPriorityPrefix(Poco::Message::PRIO_DEBUG), "<7>");
  EXPECT_EQ(journalPriorityPrefix(Poco::Message::PRIO_TRACE), "<7>");
}

TEST(JournalPriority, FormatterPrefixesEachLine) {
  JournalFormatter f("[%p] %t");
  std::string text;
  f.format(Poco::Message("rtdemo", "redis at x is unreachable", Poco::Message::PRIO_WARNING), text);
  EXPECT_EQ(text, "<4>[Warning] redis at x is unreachable");
}

}  // namespace
}  // namespace rtdemo
