#include "tests/chaos/chaos_network.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/subprocess.hpp"

namespace agora::chaos {

Status runTool(const std::vector<std::string>& argv) {
  char tmpl[] = "/tmp/agora-chaos-tool-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return makeError(ErrorCode::kIo, "mkstemp failed");
  close(fd);
  SpawnOptions options;
  options.argv = argv;
  options.stdoutPath = tmpl;
  options.stderrPath = tmpl;
  auto pid = spawn(options);
  if (!pid) {
    unlink(tmpl);
    return makeError(pid.error());
  }
  int status = 0;
  waitpid(*pid, &status, 0);
  std::stringstream output;
  output << std::ifstream(tmpl).rdbuf();
  unlink(tmpl);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string command;
  for (const std::string& a : argv) command += (command.empty() ? "" : " ") + a;
  return makeError(ErrorCode::kInternal,
                   "'" + command + "' " + describeWaitStatus(status) + ": " + output.str());
}

Result<std::unique_ptr<ChaosNetwork>> ChaosNetwork::create(int subnet, int agents) {
  if (subnet < 128 || subnet > 254) {
    return makeError(ErrorCode::kInvalidArgument, "subnet must be in [128, 254]");
  }
  std::unique_ptr<ChaosNetwork> network(new ChaosNetwork(subnet, agents));
  network->tearDown();  // leftovers of a run that could not clean up
  if (Status s = network->setUp(); !s) return makeError(s.error().withContext("chaos network"));
  return network;
}

ChaosNetwork::~ChaosNetwork() { tearDown(); }

std::string ChaosNetwork::hostAddress() const { return "10.254." + std::to_string(subnet_) + ".1"; }
std::string ChaosNetwork::agentAddress(int agent) const {
  return "10.254." + std::to_string(subnet_) + "." + std::to_string(10 + agent);
}
std::string ChaosNetwork::bridgeName() const { return "agchb" + std::to_string(subnet_); }
std::string ChaosNetwork::namespaceName(int agent) const {
  return "agora-chaos-" + std::to_string(subnet_) + "-" + std::to_string(agent);
}
std::string ChaosNetwork::hostLink(int agent) const {
  return "agch" + std::to_string(subnet_) + "h" + std::to_string(agent);
}
std::string ChaosNetwork::innerLink(int agent) const {
  return "agch" + std::to_string(subnet_) + "n" + std::to_string(agent);
}

Status ChaosNetwork::setUp() {
  std::string bridge = bridgeName();
  std::vector<std::vector<std::string>> steps = {
      {"ip", "link", "add", bridge, "type", "bridge"},
      {"ip", "addr", "add", hostAddress() + "/24", "dev", bridge},
      {"ip", "link", "set", bridge, "up"}};
  for (int i = 0; i < agents_; ++i) {
    std::string ns = namespaceName(i);
    std::vector<std::vector<std::string>> agentSteps = {
        {"ip", "netns", "add", ns},
        {"ip", "link", "add", hostLink(i), "type", "veth", "peer", "name", innerLink(i)},
        {"ip", "link", "set", innerLink(i), "netns", ns},
        {"ip", "link", "set", hostLink(i), "master", bridge},
        {"ip", "link", "set", hostLink(i), "up"},
        {"ip", "-n", ns, "link", "set", "lo", "up"},
        {"ip", "-n", ns, "addr", "add", agentAddress(i) + "/24", "dev", innerLink(i)},
        {"ip", "-n", ns, "link", "set", innerLink(i), "up"}};
    steps.insert(steps.end(), agentSteps.begin(), agentSteps.end());
  }
  for (const auto& step : steps) {
    if (Status s = runTool(step); !s) return s;
  }
  return {};
}

void ChaosNetwork::tearDown() {
  // Deleting a namespace deletes its veth end, and with it the host end.
  for (int i = 0; i < agents_; ++i) {
    (void)runTool({"ip", "netns", "delete", namespaceName(i)});
    (void)runTool({"ip", "link", "delete", hostLink(i)});
  }
  (void)runTool({"ip", "link", "delete", bridgeName()});
}

Status ChaosNetwork::cut(int agent) { return runTool({"ip", "link", "set", hostLink(agent), "down"}); }
Status ChaosNetwork::heal(int agent) { return runTool({"ip", "link", "set", hostLink(agent), "up"}); }

}  // namespace agora::chaos
