#pragma once
// Weighted random order: each time a node's allocation changes it draws an
// exponential key with rate = weight, so heavier roles tend to come first
// and no share history is kept (Mesos's RandomSorter).

#include <cstdint>
#include <random>

#include "master/allocator/sorter.hpp"

namespace agora::master {

class RandomSorter final : public Sorter {
 public:
  explicit RandomSorter(uint64_t seed = 0x5eed) : rng_(seed) {}
  double key(double dominantShare, double weight) override;
  const char* name() const override { return "random"; }

 private:
  std::mt19937_64 rng_;
};

}  // namespace agora::master
