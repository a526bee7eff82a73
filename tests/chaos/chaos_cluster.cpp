#include "tests/chaos/chaos_cluster.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "tests/support/port_holders.hpp"

namespace agora::chaos {

using namespace std::chrono_literals;
using testing::binPath;
using testing::freePort;

std::vector<std::string> ownCgroupDirs() {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> paths;  // controller list ("" for v2) -> path
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    size_t first = line.find(':');
    size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    paths[line.substr(first + 1, second - first - 1)] = line.substr(second + 1);
  }
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    std::string name = entry.path().filename();
    auto path = paths.find(name == "unified" ? "" : name);
    if (path == paths.end()) continue;
    dirs.push_back(entry.path().string() + (path->second == "/" ? "" : path->second));
  }
  return dirs;
}

namespace {

namespace fs = std::filesystem;

void writeText(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = write(fd, text.data(), text.size());
  (void)n;
  close(fd);
}

// Kills every process in the cgroup `dir` and in its descendants, then
// removes them, deepest first. Thaws frozen ones first: an agent killed in
// the middle of destroying a container can leave it frozen, and a frozen
// process does not die of SIGKILL.
void removeCgroupTree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<fs::path> tree{dir};
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec)) tree.push_back(it->path());
  }
  for (auto p = tree.rbegin(); p != tree.rend(); ++p) {
    if (fs::exists(*p / "freezer.state", ec)) writeText(*p / "freezer.state", "THAWED");
    for (int attempt = 0; attempt < 100 && rmdir(p->c_str()) != 0 && errno == EBUSY; ++attempt) {
      std::ifstream procs(*p / "cgroup.procs");
      for (pid_t pid; procs >> pid;) ::kill(pid, SIGKILL);
      std::this_thread::sleep_for(20ms);
    }
  }
}

bool isChaosRoot(const std::string& name, pid_t* owner) {
  const std::string prefix = "agora-chaos-";
  if (name.rfind(prefix, 0) != 0) return false;
  size_t dash = name.find("-a", prefix.size());
  if (dash == std::string::npos) return false;
  *owner = static_cast<pid_t>(std::strtol(name.c_str() + prefix.size(), nullptr, 10));
  return *owner > 0;
}

}  // namespace

std::vector<std::string> chaosCgroupRoots(pid_t owner) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    std::error_code walk;
    auto it = fs::recursive_directory_iterator(hierarchy.path(),
                                               fs::directory_options::skip_permission_denied, walk);
    for (; !walk && it != fs::recursive_directory_iterator(); it.increment(walk)) {
      std::error_code typeError;
      if (!it->is_directory(typeError)) continue;
      pid_t pid = 0;
      if (isChaosRoot(it->path().filename(), &pid)) {
        if (owner == 0 ? (::kill(pid, 0) != 0 && errno == ESRCH) : pid == owner) {
          found.push_back(it->path());
        }
        it.disable_recursion_pending();
      } else if (it.depth() >= 3) {
        it.disable_recursion_pending();  // agents place their roots near the top
      }
    }
  }
  return found;
}

ChaosCluster::ChaosCluster(ChaosConfig config) : config_(config) {
  try {
    setUp();
  } catch (...) {
    tearDown();
    throw;
  }
}

ChaosCluster::~ChaosCluster() { tearDown(); }

void ChaosCluster::setUp() {
  testing::NetnsLink::removeStale();
  for (const std::string& stale : chaosCgroupRoots(0)) removeCgroupTree(stale);
  auto services = testing::NetnsLink::create();
  if (!services) throw std::runtime_error(services.error().message);
  services_ = std::move(*services);
  std::string host = services_->hostAddress();
  for (int i = 0; i < config_.agents; ++i) {
    auto link = testing::NetnsLink::create();
    if (!link) throw std::runtime_error(link.error().message);
    if (Status s = (*link)->routeTo(host); !s) throw std::runtime_error(s.error().message);
    agentLinks_.push_back(std::move(*link));
  }
  zookeeper_ = std::make_unique<testing::ZooKeeperServer>(root() + "/zk", host);
  zkUrl_ = zookeeper_->url("/agora/masters");
  // Security on, as in production: the masters share one CurveZMQ server key
  // (agents and schedulers pin it, whichever leads); the frameworks find
  // their keys through AGORA_CONFIG, which the harness set.
  const LocalCredentials& keys = cluster_.credentials();
  for (int i = 0; i < config_.masters; ++i) {
    std::string name = "master" + std::to_string(i);
    masterHttp_.push_back("127.0.0.1:" + std::to_string(freePort()));
    define(name, {binPath("agora-master"), "--work-dir", root() + "/" + name, "--http",
                  masterHttp_[i], "--listen", "tcp://" + host + ":" + std::to_string(freePort()),
                  "--zk", zkUrl_, "--zk-session-timeout", "2s", "--agent-ping-interval", "0.5",
                  "--agent-max-missed-pings", "10", "--framework-heartbeat-interval", "0.5",
                  "--agent-reregister-timeout", "60", "--curve-key", keys.masterKey,
                  "--credentials", keys.credentialsDir, "--tokens", keys.tokensFile});
  }
  for (int i = 0; i < config_.agents; ++i) {
    agentHttp_.push_back(agentLinks_[i]->nsAddress() + ":" + std::to_string(freePort()));
    define("agent" + std::to_string(i),
           {"nsenter", "--net=" + agentLinks_[i]->namespacePath(), binPath("agora-agent"), "--master",
            zkUrl_, "--work-dir", agentWorkDir(i), "--http", agentHttp_[i], "--hostname",
            "chaos-agent" + std::to_string(i), "--resources", "cpus:2;mem:1024;disk:1024",
            "--isolation", "cgroups", "--cgroups-root", cgroupsRoot(i), "--recover", "reconnect",
            "--status-update-retry-min", "0.5", "--status-update-retry-max", "2", "--curve-key",
            keys.agentKey, "--master-public-key", keys.masterPublicKey, "--tokens",
            keys.tokensFile,
            // On the veth link this test made, between its own namespaces.
            "--insecure-http"});
  }
  define("keeper", {binPath("agora-chaos-framework"), "--mode", "keeper", "--master", zkUrl_,
                    "--journal", journalPath("keeper"), "--slots",
                    std::to_string(config_.longTasks)});
  define("batcher", {binPath("agora-chaos-framework"), "--mode", "batcher", "--master", zkUrl_,
                     "--journal", journalPath("batcher"), "--slots",
                     std::to_string(config_.batchSlots)});
  // Failover timeout 0 like `agora run`; the fault driver never kills it.
  define("runner", {binPath("agora-chaos-framework"), "--mode", "runner", "--master", zkUrl_,
                    "--journal", journalPath("runner"), "--slots",
                    std::to_string(config_.runnerSlots), "--failover-timeout", "0"});
  for (const auto& [name, argv] : argv_) start(name);
}

void ChaosCluster::tearDown() {
  for (auto& [name, child] : processes_) {
    if (child) child->signal(SIGKILL);
  }
  processes_.clear();
  zookeeper_.reset();
  // Executors and tasks outlive their agent by design.
  testing::killProcessesUnder(root());
  // Whole roots, not only the containers the agents' work dirs name: a
  // launch cut short by an agent's SIGKILL can leave a cgroup no
  // checkpoint mentions.
  for (const std::string& dir : ownCgroupDirs()) {
    for (int i = 0; i < config_.agents; ++i) removeCgroupTree(dir + "/" + cgroupsRoot(i));
  }
  agentLinks_.clear();
  services_.reset();
  // cluster_ removes the root last.
}

std::string ChaosCluster::cgroupsRoot(int agent) const {
  return "agora-chaos-" + std::to_string(getpid()) + "-a" + std::to_string(agent);
}

void ChaosCluster::define(const std::string& name, std::vector<std::string> argv) {
  argv_[name] = std::move(argv);
}

std::vector<std::string> ChaosCluster::names() const {
  std::vector<std::string> out;
  for (const auto& [name, argv] : argv_) out.push_back(name);
  return out;
}

void ChaosCluster::start(const std::string& name) {
  SpawnOptions options;
  options.argv = argv_.at(name);
  options.stdoutPath = options.stderrPath = root() + "/" + name + ".log";
  options.dieWithParent = true;
  auto pid = spawn(options);
  if (!pid) throw std::runtime_error("cannot start " + name + ": " + pid.error().message);
  processes_[name] = std::make_unique<testing::Child>(name, *pid);
}

bool ChaosCluster::kill(const std::string& name) {
  auto it = processes_.find(name);
  if (it == processes_.end() || !it->second) return true;
  it->second->signal(SIGKILL);
  bool died = it->second->wait(10s) >= 0;
  it->second.reset();
  return died;
}

int ChaosCluster::exitCode(const std::string& name) {
  auto it = processes_.find(name);
  if (it == processes_.end() || !it->second || it->second->running()) return -1;
  return it->second->wait(0s);
}

std::string ChaosCluster::logTail(const std::string& name, int lines) const {
  std::ifstream in(root() + "/" + name + ".log");
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string text;
  for (const std::string& l : last) text += "\n    | " + l;
  return text;
}

std::string ChaosCluster::describeAgentPort(int agent) const {
  const std::string& address = agentHttp_.at(agent);
  auto port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  return testing::describePortHolders(port, agentLinks_.at(agent)->namespacePath());
}

bool ChaosCluster::running(const std::string& name) {
  auto it = processes_.find(name);
  return it != processes_.end() && it->second && it->second->running();
}

pid_t ChaosCluster::pid(const std::string& name) {
  return running(name) ? processes_.at(name)->pid() : -1;
}

nlohmann::json ChaosCluster::get(const std::string& url) {
  auto response = http::get(url, 2s);
  if (!response || response->status != 200) return nullptr;
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  return json.is_discarded() ? nlohmann::json() : json;
}

int ChaosCluster::leader() {
  int found = -1;
  std::vector<nlohmann::json> health(config_.masters);
  for (int i = 0; i < config_.masters; ++i) {
    if (!running("master" + std::to_string(i))) continue;
    health[i] = get("http://" + masterHttp_[i] + "/health");
    if (health[i].is_null()) return -1;
    if (health[i].value("role", "") == "leader") {
      if (found >= 0) return -1;
      found = i;
    }
  }
  if (found < 0) return -1;
  for (int i = 0; i < config_.masters; ++i) {
    if (health[i].is_null()) continue;
    if (!health[i].contains("leader") || health[i]["leader"].value("http", "") != masterHttp_[found]) {
      return -1;
    }
  }
  return found;
}

nlohmann::json ChaosCluster::leaderGet(const std::string& path) {
  int lead = leader();
  if (lead < 0) return nullptr;
  return get("http://" + masterHttp_[lead] + path);
}

nlohmann::json ChaosCluster::agentGet(int agent, const std::string& path) {
  return get("http://" + agentHttp_.at(agent) + path);
}

}  // namespace agora::chaos
