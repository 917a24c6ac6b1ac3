// What one subscriber has received of its channel's messages, as a bitmap of
// per-channel sequence numbers. Publishing is open-loop over several
// connections, so two messages of a channel may legitimately reach the
// server, and so the subscriber, in either order; only a sequence that never
// arrives is a loss, and only one that arrives twice is a duplicate.
#pragma once

#include <cstdint>
#include <vector>

namespace bench {

class DeliveryTracker {
 public:
  enum class Result { kNew, kLate, kDuplicate };

  // kLate: new, but a higher sequence had already arrived.
  Result add(uint64_t seq) {
    size_t word = static_cast<size_t>(seq / 64);
    uint64_t bit = uint64_t{1} << (seq % 64);
    if (word >= bits_.size()) bits_.resize(word + 1, 0);
    if (bits_[word] & bit) {
      ++duplicates_;
      return Result::kDuplicate;
    }
    bits_[word] |= bit;
    ++count_;
    if (static_cast<int64_t>(seq) < max_seq_) return Result::kLate;
    max_seq_ = static_cast<int64_t>(seq);
    return Result::kNew;
  }

  bool has(uint64_t seq) const {
    size_t word = static_cast<size_t>(seq / 64);
    return word < bits_.size() && (bits_[word] >> (seq % 64)) & 1;
  }

  uint64_t count() const { return count_; }
  uint64_t duplicates() const { return duplicates_; }

 private:
  std::vector<uint64_t> bits_;
  uint64_t count_ = 0;
  uint64_t duplicates_ = 0;
  int64_t max_seq_ = -1;
};

}  // namespace bench
