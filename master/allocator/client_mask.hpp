#pragma once
// A growable bitset over allocator client indices (one client = one
// framework subscribed in one role). The allocation pass combines these
// word-wise, so checking 1,000 frameworks' filters on an agent costs a few
// dozen word operations instead of 1,000 lookups.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace agora::master {

class ClientMask {
 public:
  void set(uint32_t i) {
    size_t w = i / 64;
    if (w >= words_.size()) words_.resize(w + 1, 0);
    words_[w] |= uint64_t{1} << (i % 64);
  }
  void reset(uint32_t i) {
    size_t w = i / 64;
    if (w < words_.size()) words_[w] &= ~(uint64_t{1} << (i % 64));
  }
  bool test(uint32_t i) const {
    size_t w = i / 64;
    return w < words_.size() && ((words_[w] >> (i % 64)) & 1) != 0;
  }
  void clear() { std::fill(words_.begin(), words_.end(), 0); }
  bool any() const {
    return std::any_of(words_.begin(), words_.end(), [](uint64_t w) { return w != 0; });
  }
  bool intersects(const ClientMask& other) const {
    size_t n = std::min(words_.size(), other.words_.size());
    for (size_t i = 0; i < n; ++i) {
      if ((words_[i] & other.words_[i]) != 0) return true;
    }
    return false;
  }
  // Bits set in both, counting no further than `cap`.
  size_t countAnd(const ClientMask& other, size_t cap) const {
    size_t n = std::min(words_.size(), other.words_.size());
    size_t count = 0;
    for (size_t i = 0; i < n && count <= cap; ++i) {
      count += static_cast<size_t>(std::popcount(words_[i] & other.words_[i]));
    }
    return count;
  }
  template <typename F>
  void forEachAnd(const ClientMask& other, F&& f) const {
    size_t n = std::min(words_.size(), other.words_.size());
    for (size_t i = 0; i < n; ++i) {
      uint64_t w = words_[i] & other.words_[i];
      while (w != 0) {
        f(static_cast<uint32_t>(i * 64 + static_cast<size_t>(std::countr_zero(w))));
        w &= w - 1;
      }
    }
  }
  // *this = a & ~b.
  void assignAndNot(const ClientMask& a, const ClientMask& b) {
    words_.assign(a.words_.begin(), a.words_.end());
    size_t n = std::min(words_.size(), b.words_.size());
    for (size_t i = 0; i < n; ++i) words_[i] &= ~b.words_[i];
  }
  void andWith(const ClientMask& other) {
    for (size_t i = 0; i < words_.size(); ++i) {
      words_[i] &= i < other.words_.size() ? other.words_[i] : 0;
    }
  }
  void andNotWith(const ClientMask& other) {
    size_t n = std::min(words_.size(), other.words_.size());
    for (size_t i = 0; i < n; ++i) words_[i] &= ~other.words_[i];
  }
  void orWith(const ClientMask& other) {
    if (other.words_.size() > words_.size()) words_.resize(other.words_.size(), 0);
    for (size_t i = 0; i < other.words_.size(); ++i) words_[i] |= other.words_[i];
  }
  size_t bytes() const { return words_.capacity() * sizeof(uint64_t); }

 private:
  std::vector<uint64_t> words_;
};

}  // namespace agora::master
