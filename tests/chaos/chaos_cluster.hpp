#pragma once
// The chaos test's cluster as real processes: ZooKeeper and the masters on
// the host address of a network link that is never cut, each agent (cgroups
// isolation, its own cgroups root) inside the network namespace of its own
// link (tests/support/netns_link.hpp), routed to that address; the keeper, batcher
// and runner frameworks. Every process can be SIGKILLed and started again with the
// same arguments and work dir. On destruction (and when the constructor
// fails) every process, executor, the agents' whole cgroups roots and the
// network are removed; construction first removes the roots of earlier
// test processes that died without doing so.

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/cluster.hpp"
#include "tests/support/netns_link.hpp"
#include "tests/support/zookeeper_server.hpp"

namespace agora::chaos {

struct ChaosConfig {
  int masters = 3;
  int agents = 3;
  int longTasks = 5;
  int batchSlots = 6;
  int runnerSlots = 2;
};

// Every cgroup hierarchy mounted under /sys/fs/cgroup, joined with this
// process's path in it (agents inherit the test's cgroups).
std::vector<std::string> ownCgroupDirs();

// The agents' cgroups roots (agora-chaos-PID-aN, see cgroupsRoot()) in every
// hierarchy under /sys/fs/cgroup made by test process `owner`; owner 0:
// those of test processes that are gone.
std::vector<std::string> chaosCgroupRoots(pid_t owner);

class ChaosCluster {
 public:
  // Throws std::runtime_error when something cannot be set up.
  explicit ChaosCluster(ChaosConfig config);
  ~ChaosCluster();

  const ChaosConfig& config() const { return config_; }
  const std::string& root() const { return cluster_.root(); }
  // Down: the agent is cut off the network both ways; up: healed.
  Status setAgentLink(int agent, bool up) { return agentLinks_.at(agent)->setUp(up); }

  // Processes by name: master<i>, agent<i>, keeper, batcher, runner.
  std::vector<std::string> names() const;
  void start(const std::string& name);
  // SIGKILLs and reaps; false when it did not die within 10 s.
  bool kill(const std::string& name);
  bool running(const std::string& name);
  pid_t pid(const std::string& name);
  // Of a process that stopped on its own: its exit code (128+signal).
  int exitCode(const std::string& name);
  // The last `lines` lines of its log (stdout and stderr).
  std::string logTail(const std::string& name, int lines) const;
  // Which sockets and processes hold agent `agent`'s HTTP port inside its
  // namespace (tests/support/port_holders.hpp).
  std::string describeAgentPort(int agent) const;

  // The index of the master that says it leads and that every live master
  // names; -1 when there is none (yet).
  int leader();
  nlohmann::json leaderGet(const std::string& path);
  // From the agent's HTTP API inside its namespace; null when unreachable.
  nlohmann::json agentGet(int agent, const std::string& path);

  std::string journalPath(const std::string& framework) const {
    return root() + "/" + framework + ".journal";
  }
  std::string cgroupsRoot(int agent) const;
  std::string agentWorkDir(int agent) const { return root() + "/agent" + std::to_string(agent); }

 private:
  void setUp();
  void tearDown();
  void define(const std::string& name, std::vector<std::string> argv);
  nlohmann::json get(const std::string& url);

  ChaosConfig config_;
  testing::Cluster cluster_;  // the temp root; its teardown kills what runs under it
  std::unique_ptr<testing::NetnsLink> services_;  // ZooKeeper and the masters; never cut
  std::vector<std::unique_ptr<testing::NetnsLink>> agentLinks_;
  std::unique_ptr<testing::ZooKeeperServer> zookeeper_;
  std::string zkUrl_;
  std::vector<std::string> masterHttp_;
  std::vector<std::string> agentHttp_;
  std::map<std::string, std::vector<std::string>> argv_;
  std::map<std::string, std::unique_ptr<testing::Child>> processes_;
};

}  // namespace agora::chaos
