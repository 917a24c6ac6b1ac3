// Log lines for systemd's journal, with their priorities.
//
// Under systemd, rtdemo's stderr is a stream to journald (the unit sets no
// StandardError=, so it inherits the journal), and journald files every line
// it reads at the unit's default priority, info, unless the line begins with
// a syslog priority in angle brackets ("<3>" for err; sd-daemon(3)). Without
// that prefix `journalctl -p err` would never show rtdemo's errors. So when
// stderr is that stream, every line gets the prefix of its POCO priority,
// and no timestamp: the journal stamps each entry itself. From a shell or
// under a test, stderr is not the journal and lines are as before.
//
// Thread-safety: stderrIsJournal() may be called from any thread; a
// JournalFormatter is used from whichever thread logs, as PatternFormatter is.
#pragma once

#include <string>

#include "Poco/Message.h"
#include "Poco/PatternFormatter.h"

namespace rtdemo {

// True when stderr is the journal stream systemd set up: JOURNAL_STREAM
// ("DEVICE:INODE") names the file on fd 2 (systemd.exec(5)), so a stderr
// redirected elsewhere by the service's own command line is not taken for it.
bool stderrIsJournal();

// "<N>" for a POCO priority: POCO's fatal..debug (1..7) are syslog's
// alert..debug (1..7); trace is debug.
std::string journalPriorityPrefix(Poco::Message::Priority priority);

// A PatternFormatter whose lines begin with journalPriorityPrefix().
class JournalFormatter : public Poco::PatternFormatter {
 public:
  explicit JournalFormatter(const std::string& pattern) : PatternFormatter(pattern) {}
  void format(const Poco::Message& msg, std::string& text) override;
};

}  // namespace rtdemo
