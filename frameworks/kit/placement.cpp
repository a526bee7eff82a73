#include "frameworks/kit/placement.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "frameworks/kit/offer_match.hpp"

namespace agora::kit {

namespace {

std::string amount(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

// How far `group`'s next task is from fitting on `left`: the relative
// shortfalls of its scalars and ports; a constraint that refuses is farthest
// (no amount of resources changes it).
double distance(const TaskGroup& group, const Offer& offer, const Resources& left) {
  if (!allowsAll(group.constraints, placementOf(offer), group.placed)) {
    return std::numeric_limits<double>::max() / 2;
  }
  double out = 0;
  for (const std::string& name : group.resources.scalarNames()) {
    double need = group.resources.scalar(name), have = left.scalar(name);
    if (have < need && need > 0) out += (need - have) / need;
  }
  if (!group.portNames.empty()) {
    uint64_t free = left.unreserved().rangeCount("ports");
    double need = static_cast<double>(group.portNames.size());
    if (static_cast<double>(free) < need) out += (need - static_cast<double>(free)) / need;
  }
  return out;
}

struct Working {
  const Offer* offer;
  Resources left;
  bool used = false;
};

// One task of `group` on `offer`'s remaining resources; the reason when it
// does not go there.
Result<PlannedTask> tryOne(const TaskGroup& group, Working& working) {
  Status allowed = allowsAll(group.constraints, placementOf(*working.offer), group.placed);
  if (!allowed) return makeError(allowed.error());
  Resources wanted = group.resources;
  KeyValues environment;
  if (!group.portNames.empty()) {
    auto ports = takeNamedPorts(working.left, group.portNames);
    if (!ports) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "fewer than " + std::to_string(group.portNames.size()) + " free ports");
    }
    wanted += ports->resources;
    environment = ports->environment;
  }
  auto fitted = fitToOffer(working.left, wanted);
  if (!fitted) {
    std::string missing = shortfall(working.left, group.resources);
    return makeError(ErrorCode::kFailedPrecondition, missing.empty()
                                                         ? "resources split across reservations"
                                                         : "short of " + missing);
  }
  return PlannedTask{group.name, working.offer->id, working.offer->agentId, *fitted,
                     std::move(environment), group.data};
}

}  // namespace

std::string shortfall(const Resources& offered, const Resources& wanted) {
  std::string out;
  for (const std::string& name : wanted.scalarNames()) {
    double need = wanted.scalar(name), have = offered.scalar(name);
    if (have + 1e-9 < need) out += (out.empty() ? "" : ", ") + name + " " + amount(need - have);
  }
  return out;
}

PlacementRound place(const std::vector<Offer>& offers, std::vector<TaskGroup> groups,
                     Strategy strategy) {
  std::vector<Working> working;
  working.reserve(offers.size());
  for (const Offer& offer : offers) working.push_back(Working{&offer, offer.resources});
  std::unordered_map<std::string, std::vector<size_t>> offersOnHost;
  for (size_t i = 0; i < working.size(); ++i) offersOnHost[offers[i].hostname].push_back(i);
  PlacementRound round;
  for (TaskGroup& group : groups) {
    Unplaced why{group.name, 0, 0, {}, ""};
    double nearest = std::numeric_limits<double>::max();
    // The offers in the strategy's order, kept ordered as tasks are placed
    // (each placement moves only the offers it changed): spread puts the
    // offers whose host runs the fewest of the group's tasks first,
    // bin-packing the fullest; ties keep the offers' order.
    std::unordered_map<std::string, int> onHost;  // the group's tasks per host
    for (const Placement& p : group.placed) onHost[p.hostname]++;
    auto keyOf = [&](size_t i) {
      return strategy == Strategy::kSpread ? static_cast<double>(onHost[offers[i].hostname])
                                           : working[i].left.scalar("cpus");
    };
    std::set<std::pair<double, size_t>> order;
    std::vector<double> key(working.size());
    for (size_t i = 0; i < working.size(); ++i) order.emplace(key[i] = keyOf(i), i);
    auto rekey = [&](size_t i) {
      order.erase({key[i], i});
      order.emplace(key[i] = keyOf(i), i);
    };
    while (group.pending > 0) {
      why.reasons.clear();
      why.offersSeen = static_cast<int>(order.size());
      std::optional<size_t> chosen;
      std::optional<PlannedTask> planned;
      for (const auto& entry : order) {
        Working& w = working[entry.second];
        auto task = tryOne(group, w);
        if (task) {
          chosen = entry.second;
          planned = std::move(*task);
          break;
        }
        why.reasons[task.error().message]++;
        double d = distance(group, *w.offer, w.left);
        if (d < nearest) {
          nearest = d;
          why.closest = "agent " + w.offer->hostname + ": " + task.error().message;
        }
      }
      if (!chosen) break;
      Working& w = working[*chosen];
      w.left -= planned->resources;
      w.used = true;
      group.placed.push_back(placementOf(*w.offer));
      round.launches.push_back(std::move(*planned));
      --group.pending;
      onHost[w.offer->hostname]++;
      if (strategy == Strategy::kSpread) {
        for (size_t j : offersOnHost[w.offer->hostname]) rekey(j);
      } else {
        rekey(*chosen);
      }
    }
    if (group.pending > 0) {
      why.pending = group.pending;
      round.unplaced.push_back(std::move(why));
    }
  }
  for (const Working& w : working) {
    if (!w.used) round.unusedOffers.push_back(w.offer->id);
  }
  return round;
}

}  // namespace agora::kit
