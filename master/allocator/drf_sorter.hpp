#pragma once
// Weighted dominant resource fairness: a node's key is its dominant share
// divided by its weight (frameworks within a role have weight 1).

#include "master/allocator/sorter.hpp"

namespace agora::master {

class DrfSorter final : public Sorter {
 public:
  double key(double dominantShare, double weight) override { return dominantShare / weight; }
  const char* name() const override { return "drf"; }
};

}  // namespace agora::master
