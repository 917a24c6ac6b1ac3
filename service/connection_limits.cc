// Open subscriber connections, per address and per channel (see
// connection_limits.h).
#include "service/connection_limits.h"

#include <sys/stat.h>

#include <chrono>

#include "storage/clock.h"

namespace rtdemo {
namespace {

constexpr uint64_t kPruneEvery = 4096;    // registrations between full prunes
constexpr int64_t kFullPruneGapMs = 200;  // at the total limit, at most 5/s

}  // namespace

ConnectionLimits::ConnectionLimits(size_t perAddress, size_t total)
    : perAddress_(perAddress), total_(total) {}

bool ConnectionLimits::identify(int fd, Identity* out) {
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  out->dev = st.st_dev;
  out->ino = st.st_ino;
  return true;
}

bool ConnectionLimits::alive(int fd, const Entry& e) const {
  Identity now;
  return identify(fd, &now) && now == e.id;
}

void ConnectionLimits::erase(int fd) {
  auto it = byFd_.find(fd);
  if (it == byFd_.end()) return;
  auto dropFrom =
      [fd](std::unordered_map<std::string, std::unordered_set<int>>& index,
           const std::string& key) {
        auto i = index.find(key);
        if (i == index.end()) return;
        i->second.erase(fd);
        if (i->second.empty()) index.erase(i);
      };
  dropFrom(byAddress_, it->second.who.address);
  dropFrom(byChannel_, it->second.who.channel);
  byFd_.erase(it);
}

void ConnectionLimits::pruneAddress(const std::string& address) {
  auto i = byAddress_.find(address);
  if (i == byAddress_.end()) return;
  std::vector<int> dead;
  for (int fd : i->second)
    if (!alive(fd, byFd_.at(fd))) dead.push_back(fd);
  for (int fd : dead) erase(fd);
}

void ConnectionLimits::pruneAll() {
  std::vector<int> dead;
  for (auto& [fd, e] : byFd_)
    if (!alive(fd, e)) dead.push_back(fd);
  for (int fd : dead) erase(fd);
  opensSincePrune_ = 0;
  lastFullPruneMs_ = steadyMs();
}

LimitDecision ConnectionLimits::open(int fd, const Subscriber& who,
                                     bool exempt) {
  Entry entry{{}, who};
  if (!identify(fd, &entry.id)) return {};  // not a socket: nothing to hold
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = byFd_.find(fd);
  bool sameSocket = existing != byFd_.end() && existing->second.id == entry.id;
  // A descriptor number reused after its old connection closed leaves a
  // stale entry behind: drop it, then count the new connection like any.
  if (existing != byFd_.end()) erase(fd);
  if (!sameSocket) {
    if (!exempt && perAddress_ > 0) {
      auto it = byAddress_.find(who.address);
      if (it != byAddress_.end() && it->second.size() >= perAddress_) {
        pruneAddress(who.address);
        it = byAddress_.find(who.address);
        if (it != byAddress_.end() && it->second.size() >= perAddress_)
          return {429, "too many open streams from this address (limit " +
                           std::to_string(perAddress_) + ")"};
      }
    }
    if (total_ > 0 && byFd_.size() >= total_) {
      if (steadyMs() - lastFullPruneMs_ >= kFullPruneGapMs) pruneAll();
      if (byFd_.size() >= total_)
        return {503, "the server holds its limit of " + std::to_string(total_) +
                         " open streams"};
    }
    if (++opensSincePrune_ >= kPruneEvery) pruneAll();
  }
  byAddress_[who.address].insert(fd);
  byChannel_[who.channel].insert(fd);
  byFd_.emplace(fd, std::move(entry));
  return {};
}

void ConnectionLimits::release(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  erase(fd);
}

std::vector<Subscriber> ConnectionLimits::present(const std::string& channel) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Subscriber> out;
  auto i = byChannel_.find(channel);
  if (i == byChannel_.end()) return out;
  std::vector<int> dead;
  for (int fd : i->second) {
    const Entry& e = byFd_.at(fd);
    if (alive(fd, e))
      out.push_back(e.who);
    else
      dead.push_back(fd);
  }
  for (int fd : dead) erase(fd);
  return out;
}

size_t ConnectionLimits::tracked() {
  std::lock_guard<std::mutex> lock(mu_);
  return byFd_.size();
}

}  // namespace rtdemo
