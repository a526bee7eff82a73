#pragma once
// Gathers the checker's Observation from the running chaos cluster: the
// journals, the leader's tasks and agents, each agent's containers, the
// cgroups under each agent's cgroups root (in every hierarchy this process
// is in), the mounts and the executor processes under the test's root.

#include "tests/chaos/chaos_cluster.hpp"
#include "tests/chaos/checker.hpp"

namespace agora::chaos {

Observation observe(ChaosCluster& cluster);

}  // namespace agora::chaos
