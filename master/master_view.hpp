#pragma once
// A read-only view of every component's records at once, for the renderers
// of the HTTP API's snapshot and the metrics' gauges, and for tests. Built on
// the loop thread and used there: it borrows the components' containers.

#include <map>
#include <set>
#include <string>

#include "master/core/records.hpp"
#include "master/offers/offer_book.hpp"
#include "master/tasks/task_table.hpp"

namespace agora::master {

struct MasterView {
  const std::string& masterId;
  double startTime = 0;  // wall seconds
  const std::map<std::string, Agent>& agents;
  // Removed agents with the wall time of their removal.
  const std::map<std::string, double>& goneAgents;
  const std::map<std::string, Framework>& frameworks;
  const std::set<std::string>& removedFrameworks;
  const TaskTable& tasks;
  const std::map<std::string, OfferRecord>& offers;
};

}  // namespace agora::master
