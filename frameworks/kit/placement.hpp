#pragma once
// Placement: which pending tasks go on which offers. A round takes the
// offers a framework holds and its groups of pending tasks (same resources,
// ports and constraints, e.g. the instances of an app) and decides
// launches, the offers that helped nothing (to decline), and for every group
// that still waits *why*: each offer's reason (short of cpus, a constraint,
// too few ports) counted, and the closest fit — so "why is this not placed"
// has an answer.
//
// Strategies: spread (each task on the offer whose agent runs the fewest of
// its group) or bin-packing (fill the fullest agents first).

#include <map>
#include <string>
#include <vector>

#include "common/model.hpp"
#include "common/resources.hpp"
#include "frameworks/kit/constraints.hpp"

namespace agora::kit {

enum class Strategy { kSpread, kBinPack };

struct TaskGroup {
  std::string name;                    // e.g. the app's ID
  int pending = 0;                     // tasks still to place
  Resources resources;                 // per task: plain amounts
  std::vector<std::string> portNames;  // per task: one host port each
  std::vector<Constraint> constraints;
  std::vector<Placement> placed;  // where the group's tasks run now
  // The framework's own, kept with each task launched for the group
  // (TaskEntry::data): e.g. the version of the app it runs.
  std::string data = {};
};

struct PlannedTask {
  std::string group;
  std::string offerId;
  std::string agentId;
  Resources resources;    // taken from the offer (ports included)
  KeyValues environment;  // $PORT_NAME, $PORT0, ...
  std::string data = {};  // the group's
};

// Why a group (still) waits.
struct Unplaced {
  std::string group;
  int pending = 0;
  int offersSeen = 0;
  std::map<std::string, int> reasons;  // reason -> how many offers gave it
  std::string closest;                 // the nearest miss: "agent h1: short of cpus 0.5"
};

struct PlacementRound {
  std::vector<PlannedTask> launches;
  std::vector<std::string> unusedOffers;  // nothing was placed on them: decline
  std::vector<Unplaced> unplaced;
};

PlacementRound place(const std::vector<Offer>& offers, std::vector<TaskGroup> groups,
                     Strategy strategy = Strategy::kSpread);

// What `offered` lacks for `wanted` (scalars), "" when nothing: "cpus 0.5,
// mem 128" — each by how much it falls short.
std::string shortfall(const Resources& offered, const Resources& wanted);

}  // namespace agora::kit
