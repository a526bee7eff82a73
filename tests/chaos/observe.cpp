#include "tests/chaos/observe.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace agora::chaos {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> mountsUnder(const std::string& root) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, source, target;
    if (!(fields >> id >> parent >> device >> source >> target)) continue;
    if (target.rfind(root + "/", 0) == 0) out.push_back(target);
  }
  return out;
}

std::vector<int> executorsUnder(const std::string& root) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string comm, cmdline;
    std::getline(std::ifstream(entry.path() / "comm"), comm);
    if (comm != "agora-executor") continue;
    std::stringstream text;
    text << std::ifstream(entry.path() / "cmdline").rdbuf();
    std::error_code linkError;
    std::string cwd = fs::read_symlink(entry.path() / "cwd", linkError);
    if (text.str().find(root) != std::string::npos || cwd.rfind(root, 0) == 0) {
      out.push_back(std::stoi(name));
    }
  }
  return out;
}

}  // namespace

Observation observe(ChaosCluster& cluster) {
  Observation o;
  for (const char* name : {"keeper", "batcher", "runner"}) {
    o.journals[name] = readJournal(cluster.journalPath(name));
  }
  o.longTasks = cluster.config().longTasks;
  o.agentsExpected = cluster.config().agents;
  o.leader = cluster.leader() >= 0;
  auto agents = cluster.leaderGet("/api/v1/agents");
  if (agents.is_object()) {
    for (const auto& a : agents.value("agents", nlohmann::json::array())) {
      o.agentsRegistered += a.value("status", "") == "REGISTERED";
    }
  }
  auto tasks = cluster.leaderGet("/api/v1/tasks");
  if (tasks.is_object()) o.masterTasks = tasks.value("tasks", nlohmann::json::array());
  std::vector<std::string> cgroupDirs = ownCgroupDirs();
  for (int i = 0; i < cluster.config().agents; ++i) {
    auto health = cluster.agentGet(i, "/health");
    if (health.is_object() && !health.value("agent_id", "").empty()) {
      o.agentNames[health.value("agent_id", "")] = "agent" + std::to_string(i);
    }
    auto containers = cluster.agentGet(i, "/api/v1/containers");
    o.agentAnswered.push_back(containers.is_object());
    if (containers.is_object()) {
      for (const auto& c : containers.value("containers", nlohmann::json::array())) {
        o.containers.push_back({i, c.value("id", ""), c.value("framework_id", ""),
                                c.value("task_id", ""), c.value("state", ""),
                                c.value("task_state", ""), c.value("executor_pid", 0)});
      }
    }
    std::set<std::string>& found = o.cgroups[i];
    for (const std::string& dir : cgroupDirs) {
      std::error_code ec;
      for (const auto& child : fs::directory_iterator(dir + "/" + cluster.cgroupsRoot(i), ec)) {
        if (child.is_directory()) found.insert(child.path().filename());
      }
    }
  }
  o.mounts = mountsUnder(cluster.root());
  o.executorPids = executorsUnder(cluster.root());
  return o;
}

}  // namespace agora::chaos
