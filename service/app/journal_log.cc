// Implementation of journal_log.h.
#include "service/app/journal_log.h"

#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace rtdemo {

bool stderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  uintmax_t dev = 0, ino = 0;
  if (std::sscanf(stream, "%ju:%ju", &dev, &ino) != 2) return false;
  struct stat st;
  if (::fstat(2, &st) != 0) return false;
  return static_cast<uintmax_t>(st.st_dev) == dev && static_cast<uintmax_t>(st.st_ino) == ino;
}

std::string journalPriorityPrefix(Poco::Message::Priority priority) {
  int level = static_cast<int>(priority);
  if (level > 7) level = 7;
  if (level < 0) level = 0;
  return "<" + std::to_string(level) + ">";
}

void JournalFormatter::format(const Poco::Message& msg, std::string& text) {
  text += journalPriorityPrefix(msg.getPriority());
  PatternFormatter::format(msg, text);
}

}  // namespace rtdemo
