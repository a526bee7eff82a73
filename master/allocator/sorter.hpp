#pragma once
// Orders siblings in the role tree: roles among roles, frameworks within a
// role. The tree keeps each node's children sorted by key() (then by age) and
// asks for a new key whenever a node's allocation or weight changes, so the
// order is maintained incrementally rather than re-sorted per agent.

#include <memory>
#include <string>

namespace agora::master {

class Sorter {
 public:
  virtual ~Sorter() = default;
  // Lower keys are offered first. `dominantShare` is the node's allocation
  // over the cluster total, maximised over resource names.
  virtual double key(double dominantShare, double weight) = 0;
  virtual const char* name() const = 0;
};

// "drf" (weighted DRF, the default) or "random"; null for an unknown name.
std::unique_ptr<Sorter> makeSorter(const std::string& name);

}  // namespace agora::master
