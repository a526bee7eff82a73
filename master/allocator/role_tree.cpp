#include "master/allocator/role_tree.hpp"

#include <glog/logging.h>

#include <algorithm>

#include "master/allocator/role_name.hpp"

namespace agora::master {

namespace {

// With at most this many eligible clients below a node, pick() scans their
// bits instead of walking the node's sorted children.
constexpr size_t kScanEligible = 16;

}  // namespace

RoleTree::RoleTree(Sorter& sorter) : sorter_(sorter) {}

TreeNode& RoleTree::role(const std::string& name) {
  if (TreeNode* found = findRole(name)) return *found;
  TreeNode* parent = &root_;
  for (const std::string& path : roleAncestry(name)) {
    auto it = roles_.find(path);
    if (it == roles_.end()) {
      auto node = std::make_unique<TreeNode>();
      node->name = path;
      node->parent = parent;
      node->order = nextOrder_++;
      node->key = sorter_.key(0, node->weight);
      parent->children.insert(node.get());
      it = roles_.emplace(path, std::move(node)).first;
    }
    parent = it->second.get();
  }
  return *parent;
}

TreeNode* RoleTree::findRole(const std::string& name) const {
  auto it = roles_.find(name);
  return it == roles_.end() ? nullptr : it->second.get();
}

TreeNode& RoleTree::addClient(uint32_t index, const std::string& frameworkId, TreeNode& role) {
  if (index >= clients_.size()) clients_.resize(index + 1);
  CHECK(clients_[index] == nullptr) << "client index " << index << " in use";
  auto node = std::make_unique<TreeNode>();
  node->name = frameworkId;
  node->parent = &role;
  node->client = true;
  node->clientIndex = index;
  node->order = nextOrder_++;
  node->key = sorter_.key(0, 1);
  node->subtree.set(index);
  for (TreeNode* n = &role; n != nullptr; n = n->parent) n->subtree.set(index);
  role.children.insert(node.get());
  clients_[index] = std::move(node);
  return *clients_[index];
}

void RoleTree::removeClient(uint32_t index) {
  TreeNode* node = client(index);
  if (node == nullptr) return;
  if (!node->allocated.empty()) unallocate(index, node->allocated);
  TreeNode* parent = node->parent;
  parent->children.erase(node);
  for (TreeNode* n = parent; n != nullptr; n = n->parent) n->subtree.reset(index);
  clients_[index].reset();
  prune(parent);
}

void RoleTree::prune(TreeNode* node) {
  while (node != nullptr && node != &root_ && node->children.empty() && node->weight == 1 &&
         !node->guarantee && !node->limit && node->reserved.empty()) {
    TreeNode* parent = node->parent;
    parent->children.erase(node);
    roles_.erase(node->name);  // destroys node
    node = parent;
  }
}

void RoleTree::allocate(uint32_t index, const Resources& resources) {
  for (TreeNode* n = client(index); n != nullptr && n != &root_; n = n->parent) {
    n->parent->children.erase(n);
    n->allocated += resources;
    n->share = dominantShare(n->allocated);
    n->key = sorter_.key(n->share, n->weight);
    n->parent->children.insert(n);
  }
}

void RoleTree::unallocate(uint32_t index, const Resources& resources) {
  for (TreeNode* n = client(index); n != nullptr && n != &root_; n = n->parent) {
    n->parent->children.erase(n);
    n->allocated -= resources;
    n->share = dominantShare(n->allocated);
    n->key = sorter_.key(n->share, n->weight);
    n->parent->children.insert(n);
  }
}

void RoleTree::reserve(const std::string& role, const Resources& resources) {
  for (TreeNode* n = &this->role(role); n != nullptr && n != &root_; n = n->parent) {
    n->reserved += resources;
  }
}

void RoleTree::unreserve(const std::string& role, const Resources& resources) {
  TreeNode* node = findRole(role);
  if (node == nullptr) return;
  for (TreeNode* n = node; n != nullptr && n != &root_; n = n->parent) n->reserved -= resources;
  prune(node);
}

void RoleTree::setWeight(TreeNode& role, double weight) {
  role.weight = weight;
  rekey(role);
}

void RoleTree::rekey(TreeNode& node) {
  node.parent->children.erase(&node);
  node.share = dominantShare(node.allocated);
  node.key = sorter_.key(node.share, node.weight);
  node.parent->children.insert(&node);
}

void RoleTree::setTotal(const Resources& total) {
  total_ = total;
  stale_ = true;
  totals_.clear();
  for (const std::string& name : total.scalarNames()) {
    totals_.push_back(TotalEntry{name, total.scalar(name), false});
  }
  for (const std::string& name : total.rangeNames()) {
    totals_.push_back(TotalEntry{name, static_cast<double>(total.rangeCount(name)), true});
  }
}

void RoleTree::refresh() {
  if (!stale_) return;
  stale_ = false;
  rekeyAll(root_);
}

void RoleTree::rekeyAll(TreeNode& node) {
  std::vector<TreeNode*> children(node.children.begin(), node.children.end());
  node.children.clear();
  for (TreeNode* child : children) {
    rekeyAll(*child);
    child->share = dominantShare(child->allocated);
    child->key = sorter_.key(child->share, child->weight);
    node.children.insert(child);
  }
}

double RoleTree::dominantShare(const Resources& allocated) const {
  // Names absent from the cluster total cannot be allocated, so iterating the
  // totals covers everything.
  double share = 0;
  for (const TotalEntry& entry : totals_) {
    if (entry.total <= 0) continue;
    double amount = entry.range ? static_cast<double>(allocated.rangeCount(entry.name))
                                : allocated.scalar(entry.name);
    share = std::max(share, amount / entry.total);
  }
  return share;
}

TreeNode* RoleTree::pick(const ClientMask& eligible) const {
  const TreeNode* node = &root_;
  while (!node->client) {
    size_t count = eligible.countAnd(node->subtree, kScanEligible);
    if (count == 0) return nullptr;
    TreeNode* next = nullptr;
    if (count <= kScanEligible) {
      // Few candidates: find each one's child of `node` and take the first in order.
      eligible.forEachAnd(node->subtree, [&](uint32_t index) {
        TreeNode* x = clients_[index].get();
        while (x->parent != node) x = x->parent;
        if (next == nullptr || TreeNode::ByKey()(x, next)) next = x;
      });
    } else {
      for (TreeNode* child : node->children) {
        if (child->client ? eligible.test(child->clientIndex) : eligible.intersects(child->subtree)) {
          next = child;
          break;
        }
      }
    }
    if (next == nullptr) return nullptr;
    node = next;
  }
  return const_cast<TreeNode*>(node);
}

}  // namespace agora::master
