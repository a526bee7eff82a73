// Quota limits against reservations: a role's quota consumption is its
// reservations (in use or not) plus its unreserved allocations, so a
// reservation is charged once, when it is made, and what runs on it later
// costs nothing more. Reservations that would pass a limit are refused here.

#include <sstream>

#include "master/allocator/hierarchical_allocator.hpp"
#include "master/allocator/role_name.hpp"

namespace agora::master {

namespace {

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// (a - b) per scalar name of `a`, floored at zero, flattened.
Resources scalarIncrease(const Resources& a, const Resources& b) {
  Resources out;
  for (const std::string& name : a.scalarNames()) {
    double gap = a.scalar(name) - b.scalar(name);
    if (gap > 0) (void)out.setScalar(name, gap);
  }
  return out;
}

std::string whose(const std::string& holder, const std::string& role) {
  return holder == role ? "role " + role : "role " + holder + " (parent of " + role + ")";
}

}  // namespace

Status HierarchicalAllocator::checkReservationQuota(const Resources& from, const Resources& to,
                                                    const std::string& frameworkId,
                                                    const std::string& role) const {
  // What each role (ancestors included) would newly reserve, by role path,
  // and the role that asked (for the message).
  std::map<std::string, std::pair<Resources, std::string>> added;
  for (const std::string& reserved : to.reservationRoles()) {
    Resources more = scalarIncrease(to.reservedFor(reserved).flatten(),
                                    from.reservedFor(reserved).flatten());
    if (more.empty()) continue;
    for (const std::string& path : roleAncestry(reserved)) {
      auto& entry = added[path];
      entry.first += more;
      entry.second = reserved;
    }
  }
  if (added.empty()) return {};
  // A framework's RESERVE turns its unreserved allocation into the
  // reservation: that part stops counting as unreserved allocation.
  const TreeNode* holder = nullptr;
  if (const ClientSlot* slot = clientOf(frameworkId, role); slot != nullptr) {
    holder = tree_.client(frameworks_.at(frameworkId).clients.at(role));
  }
  Resources released = from.unreserved().flatten();
  for (const auto& [path, entry] : added) {
    const auto& [more, reserved] = entry;
    const TreeNode* node = tree_.findRole(path);
    if (node == nullptr || !node->limit) continue;
    Resources consumed = quotaConsumed(*node);
    Resources after = consumed + more;
    if (holder != nullptr && node->subtree.test(holder->clientIndex)) {
      after -= released;  // clamps at zero
    }
    for (const std::string& name : more.scalarNames()) {
      double limit = node->limit->scalar(name);
      if (limit <= 0) continue;  // a name the limit does not mention is unlimited
      if (after.scalar(name) <= limit) continue;
      return makeError(ErrorCode::kInvalidArgument,
                       "reserving " + name + " " + number(more.scalar(name)) + " for role " +
                           reserved + " would take " + whose(path, reserved) + " to " + name +
                           " " + number(after.scalar(name)) + ", over its quota limit " + name +
                           " " + number(limit) + " (it consumes " + name + " " +
                           number(consumed.scalar(name)) +
                           ": reservations, in use or not, plus unreserved allocations)");
    }
  }
  return {};
}

Status HierarchicalAllocator::limitCoversReservations(const std::string& role,
                                                     const Resources& limit) const {
  const TreeNode* node = tree_.findRole(role);
  if (node == nullptr || node->reserved.empty()) return {};
  Resources reserved = node->reserved.flatten();
  for (const std::string& name : limit.scalarNames()) {
    if (reserved.scalar(name) <= limit.scalar(name)) continue;
    return makeError(ErrorCode::kInvalidArgument,
                     "limit: " + name + " " + number(limit.scalar(name)) + " is below the " +
                         number(reserved.scalar(name)) + " reserved for role " + role +
                         " (reservations count toward quota whether or not tasks use them); "
                         "unreserve first or give a limit of at least " +
                         number(reserved.scalar(name)));
  }
  return {};
}

}  // namespace agora::master
