#pragma once
// The allocator's sort tree: role nodes ("*", "eng", "eng/web") whose
// children are sub-roles and clients (a framework subscribed in that role).
// Each node carries the resources allocated in its subtree, its dominant
// share of the cluster and a sort key from the Sorter; every node keeps its
// children ordered by key, updated incrementally when an allocation changes
// (O(depth · log siblings)), never re-sorted from scratch per agent.
//
// A role's own frameworks and its sub-roles are siblings in one order (Mesos
// puts a role's own frameworks behind a virtual "role/." child instead).
//
// Not thread-safe: owned and used by the allocator on the master's loop.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/resources.hpp"
#include "master/allocator/client_mask.hpp"
#include "master/allocator/sorter.hpp"

namespace agora::master {

struct TreeNode {
  struct ByKey {
    bool operator()(const TreeNode* a, const TreeNode* b) const {
      return a->key != b->key ? a->key < b->key : a->order < b->order;
    }
  };

  std::string name;  // role path, or framework ID for a client
  TreeNode* parent = nullptr;
  bool client = false;
  uint32_t clientIndex = 0;  // clients only
  uint64_t order = 0;        // tie-break: older first
  double weight = 1;         // roles only
  Resources allocated;       // whole subtree
  double share = 0;          // dominant share of `allocated`
  double key = 0;
  ClientMask subtree;  // client indices in this subtree
  std::set<TreeNode*, ByKey> children;
  // Roles only.
  std::optional<Resources> guarantee;
  std::optional<Resources> limit;
  // Reservations (static and dynamic, in use or not) for this role and its
  // descendants, over every agent.
  Resources reserved;
  // An offer to this role was clipped to nothing by its limit: a recovery in
  // its subtree must trigger a full pass.
  bool limitBlocked = false;
};

class RoleTree {
 public:
  // REQUIRES: sorter outlives the tree.
  explicit RoleTree(Sorter& sorter);

  // The role node, created with its ancestors if absent. REQUIRES: a valid name.
  TreeNode& role(const std::string& name);
  TreeNode* findRole(const std::string& name) const;
  const std::map<std::string, std::unique_ptr<TreeNode>>& roles() const { return roles_; }

  // A new client leaf under `role`; returns its node (clientIndex = index).
  TreeNode& addClient(uint32_t index, const std::string& frameworkId, TreeNode& role);
  // Removes the leaf, its allocation from its ancestors, and empty roles.
  void removeClient(uint32_t index);
  TreeNode* client(uint32_t index) const {
    return index < clients_.size() ? clients_[index].get() : nullptr;
  }

  void allocate(uint32_t index, const Resources& resources);
  void unallocate(uint32_t index, const Resources& resources);
  void setWeight(TreeNode& role, double weight);
  // Adds (removes) reservations for `role` to the role and its ancestors.
  // REQUIRES: every resource in `resources` is reserved for `role`.
  void reserve(const std::string& role, const Resources& resources);
  void unreserve(const std::string& role, const Resources& resources);
  // Removes roles (from `node` up) that have nothing: no children, default
  // weight, no quota, no reservations.
  void prune(TreeNode* node);

  // Cluster total changed: shares are recomputed lazily by refresh().
  void setTotal(const Resources& total);
  void refresh();

  // The client to offer to first among `eligible`: walk the tree from the
  // root, at each level taking the first child (in sorter order) with an
  // eligible client below it. Null when none.
  TreeNode* pick(const ClientMask& eligible) const;

  double dominantShare(const Resources& allocated) const;

 private:
  void rekey(TreeNode& node);
  void rekeyAll(TreeNode& node);

  Sorter& sorter_;
  uint64_t nextOrder_ = 0;
  Resources total_;
  // total_ by name, so a share needs no allocation: (name, total, isRange).
  struct TotalEntry {
    std::string name;
    double total;
    bool range;
  };
  std::vector<TotalEntry> totals_;
  bool stale_ = false;
  TreeNode root_;
  std::map<std::string, std::unique_ptr<TreeNode>> roles_;
  std::vector<std::unique_ptr<TreeNode>> clients_;  // by client index
};

}  // namespace agora::master
