// Implementation of the page bounds (see history_page.h).
#include "service/protocol/history_page.h"

#include <algorithm>

namespace rtdemo {

size_t pageBytesOf(const Message& m) {
  return m.data.size() + m.event.size() + m.idText.size() + 32;
}

bool trimToBudget(std::vector<MessagePtr>* messages, size_t budgetBytes) {
  size_t bytes = 0;
  for (size_t i = 0; i < messages->size(); ++i) {
    bytes += pageBytesOf(*(*messages)[i]);
    if (i > 0 && bytes > budgetBytes) {
      messages->resize(i);
      return true;
    }
  }
  return false;
}

size_t nextPageLimit(const std::vector<MessagePtr>& page, size_t budgetBytes) {
  if (page.empty()) return kFirstPageMessages;
  size_t bytes = 0;
  for (const MessagePtr& m : page) bytes += pageBytesOf(*m);
  size_t average = std::max<size_t>(1, bytes / page.size());
  return std::clamp<size_t>(budgetBytes / average, 1, kMaxPageMessages);
}

}  // namespace rtdemo
