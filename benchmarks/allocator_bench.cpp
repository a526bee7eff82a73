// agora-bench-allocator: the allocator alone, modelled on Mesos's
// HierarchicalAllocator benchmarks (DeclineOffers / ResourceLabels).
//
//   agora-bench-allocator --agents N --frameworks F [--accept] [--rounds R] [--sorter drf|random]
//
// N agents of cpus:2;mem:1024;disk:4096;ports:[31000-32000], F frameworks in
// role "*". Decline mode: every framework declines every offer with a 1-day
// filter, so each round's pass must skip more filtered frameworks per agent.
// Accept mode: each offer is half used (a cpus:1;mem:512;disk:2048 task), the
// rest is declined without a filter.
// Figures:
//   add_agents_ms   adding the N agents
//   pass_ms         median allocate() over R rounds, each visiting every agent
//   reoffer_ms      median of: one held offer's resources recovered, then allocate()
//                   (which visits only that agent)
//   bytes_per_agent heap growth (mallinfo2) while adding the agents, per agent
// A second line "allocator-detail" gives spreads, memory after the rounds and
// roles_view_ms, what building the roles view (GET /api/v1/roles) costs.

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/resources.hpp"
#include "master/allocator/hierarchical_allocator.hpp"

namespace {

using agora::Resources;
using agora::master::Allocation;
using agora::master::HierarchicalAllocator;
using Steady = std::chrono::steady_clock;

double msSince(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

size_t heapBytes() { return mallinfo2().uordblks; }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Options {
  int agents = 1000;
  int frameworks = 100;
  bool accept = false;
  int rounds = 5;
  std::string sorter = "drf";
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* value = nullptr;
    if (arg == "--accept") {
      o.accept = true;
    } else if ((arg == "--agents" || arg == "--frameworks" || arg == "--rounds" ||
                arg == "--sorter") &&
               (value = next()) != nullptr) {
      if (arg == "--agents") o.agents = std::atoi(value);
      if (arg == "--frameworks") o.frameworks = std::atoi(value);
      if (arg == "--rounds") o.rounds = std::atoi(value);
      if (arg == "--sorter") o.sorter = value;
    } else {
      return false;
    }
  }
  return o.agents > 0 && o.frameworks > 0 && o.rounds > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: agora-bench-allocator --agents N --frameworks F [--accept] [--rounds R] "
                 "[--sorter drf|random]\n");
    return 2;
  }
  agora::SimulatedClock clock;
  auto sorter = agora::master::makeSorter(o.sorter);
  if (sorter == nullptr) {
    std::fprintf(stderr, "unknown sorter %s\n", o.sorter.c_str());
    return 2;
  }
  HierarchicalAllocator allocator(clock, std::move(sorter));
  for (int f = 0; f < o.frameworks; ++f) allocator.addFramework("fw-" + std::to_string(f), {});
  Resources agentResources = *Resources::parse("cpus:2;mem:1024;disk:4096;ports:[31000-32000]");
  Resources task = *Resources::parse("cpus:1;mem:512;disk:2048");
  std::vector<std::string> agentIds;
  for (int a = 0; a < o.agents; ++a) agentIds.push_back("agent-" + std::to_string(a));

  size_t heapBefore = heapBytes();
  auto start = Steady::now();
  for (const std::string& id : agentIds) allocator.addAgent(id, agentResources, {});
  double addAgentsMs = msSince(start);
  double bytesPerAgent = static_cast<double>(heapBytes() - heapBefore) / o.agents;

  constexpr double kLongFilter = 86400;
  std::vector<double> passes;
  size_t offers = 0;
  for (int r = 0; r < o.rounds; ++r) {
    start = Steady::now();
    std::vector<Allocation> out = allocator.allocate();
    double ms = msSince(start);
    if (allocator.stats().lastPassAgents == static_cast<uint64_t>(o.agents)) passes.push_back(ms);
    offers += out.size();
    for (const Allocation& a : out) {
      if (o.accept && a.resources.contains(task)) {
        allocator.recover(a.frameworkId, a.role, a.agentId, a.resources - task, 0);
      } else {
        allocator.recover(a.frameworkId, a.role, a.agentId, a.resources, kLongFilter);
      }
    }
  }
  size_t heapAfterRounds = heapBytes();
  // What a reader of /api/v1/roles costs the loop with every filter live.
  start = Steady::now();
  size_t roleCount = allocator.roles().size();
  double rolesViewMs = msSince(start);

  // Hold one more pass's offers, then free them one agent at a time.
  std::vector<Allocation> held = allocator.allocate();
  std::vector<double> reoffers;
  size_t samples = std::min<size_t>(held.size(), 200);
  for (size_t i = 0; i < samples; ++i) {
    const Allocation& a = held[i * held.size() / samples];
    start = Steady::now();
    allocator.recover(a.frameworkId, a.role, a.agentId, a.resources, 0);
    std::vector<Allocation> again = allocator.allocate();
    reoffers.push_back(msSince(start));
    if (again.size() != 1 || allocator.stats().lastPassAgents != 1) {
      std::fprintf(stderr, "unexpected re-offer: %zu offers over %llu agents\n", again.size(),
                   static_cast<unsigned long long>(allocator.stats().lastPassAgents));
    }
  }

  std::printf(
      "allocator agents=%d frameworks=%d add_agents_ms=%.1f pass_ms=%.2f reoffer_ms=%.4f "
      "bytes_per_agent=%.0f\n",
      o.agents, o.frameworks, addAgentsMs, median(passes), median(reoffers), bytesPerAgent);
  auto [minPass, maxPass] = std::minmax_element(passes.begin(), passes.end());
  auto maxReoffer = std::max_element(reoffers.begin(), reoffers.end());
  std::printf(
      "allocator-detail mode=%s sorter=%s rounds=%d full_passes=%zu pass_ms_min=%.2f "
      "pass_ms_max=%.2f reoffer_ms_max=%.4f offers=%zu bytes_per_agent_after_rounds=%.0f "
      "roles_view_ms=%.2f roles=%zu\n",
      o.accept ? "accept" : "decline", o.sorter.c_str(), o.rounds, passes.size(),
      passes.empty() ? 0 : *minPass, passes.empty() ? 0 : *maxPass,
      reoffers.empty() ? 0 : *maxReoffer, offers,
      static_cast<double>(heapAfterRounds - heapBefore) / o.agents, rolesViewMs, roleCount);
  return 0;
}
