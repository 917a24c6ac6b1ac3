// Open subscriber connections, per address and per channel (see
// connection_limits.h).
#include "service/security/connection_limits.h"

#include <chrono>

#include "storage/clock.h"

namespace rtdemo {
namespace {

constexpr uint64_t kPruneEvery = 4096;    // registrations between full prunes
constexpr int64_t kFullPruneGapMs = 200;  // at the total limit, at most 5/s

}  // namespace

ConnectionLimits::ConnectionLimits(size_t perAddress, size_t total)
    : perAddress_(perAddress), total_(total) {}

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
  if (it->second.idle)
    idle_--;
  else
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

bool ConnectionLimits::addressHasRoom(const std::string& address) {
  if (perAddress_ == 0) return true;
  auto it = byAddress_.find(address);
  if (it == byAddress_.end() || it->second.size() < perAddress_) return true;
  pruneAddress(address);
  it = byAddress_.find(address);
  return it == byAddress_.end() || it->second.size() < perAddress_;
}

LimitDecision ConnectionLimits::open(int fd, const Subscriber& who,
                                     bool exempt) {
  Entry entry{{}, who, false};
  if (!SocketIdentity::of(fd, &entry.id)) return {};  // not a socket: nothing to hold
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = byFd_.find(fd);
  bool sameSocket = existing != byFd_.end() && existing->second.id == entry.id;
  // A kept-alive connection becoming a stream already holds its place for
  // its address; it is new to the total.
  bool wasIdle = sameSocket && existing->second.idle;
  bool sameAddress = sameSocket && existing->second.who.address == who.address;
  // A descriptor number reused after its old connection closed leaves a
  // stale entry behind: drop it, then count the new connection like any.
  if (existing != byFd_.end() && !sameSocket) erase(fd);
  bool checkAddress = !sameSocket || (wasIdle && !sameAddress);
  if (checkAddress && !exempt && !addressHasRoom(who.address))
    return {429, "too many open streams from this address (limit " +
                     std::to_string(perAddress_) + ")"};
  if (!sameSocket || wasIdle) {
    if (total_ > 0 && byFd_.size() - idle_ >= total_) {
      if (steadyMs() - lastFullPruneMs_ >= kFullPruneGapMs) pruneAll();
      if (byFd_.size() - idle_ >= total_)
        return {503, "the server holds its limit of " + std::to_string(total_) +
                         " open streams"};
    }
    if (++opensSincePrune_ >= kPruneEvery) pruneAll();
  }
  if (sameSocket) erase(fd);
  byAddress_[who.address].insert(fd);
  byChannel_[who.channel].insert(fd);
  byFd_.emplace(fd, std::move(entry));
  return {};
}

bool ConnectionLimits::holdIdle(int fd, const std::string& address, bool exempt,
                                Identity* id) {
  Identity socket;
  if (!SocketIdentity::of(fd, &socket)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = byFd_.find(fd);
  if (existing != byFd_.end()) {
    if (existing->second.id == socket) {  // counted already
      *id = socket;
      return true;
    }
    erase(fd);  // a closed socket's number, reused
  }
  if (!exempt && !addressHasRoom(address)) return false;
  if (++opensSincePrune_ >= kPruneEvery) pruneAll();
  byAddress_[address].insert(fd);
  byFd_.emplace(fd, Entry{socket, Subscriber{"", address, "", Transport::kHttp}, true});
  idle_++;
  *id = socket;
  return true;
}

void ConnectionLimits::releaseIdle(int fd, const Identity& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = byFd_.find(fd);
  if (it != byFd_.end() && it->second.idle && it->second.id == id) erase(fd);
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
  return byFd_.size() - idle_;
}

size_t ConnectionLimits::trackedIdle() {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_;
}

}  // namespace rtdemo
