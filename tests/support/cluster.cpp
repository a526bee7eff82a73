#include "tests/support/cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/curve.hpp"
#include "common/http_client.hpp"
#include "common/subprocess.hpp"

namespace agora::testing {

Child::~Child() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

bool Child::running() {
  if (reaped_) return false;
  pid_t r = waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) reaped_ = true;
  return !reaped_;
}

void Child::signal(int sig) {
  if (!reaped_) ::kill(pid_, sig);
}

int Child::wait(std::chrono::milliseconds timeout) {
  if (!reaped_) {
    auto exited = waitForExit(pid_, timeout);
    if (!exited) return -1;
    status_ = *exited;
    reaped_ = true;
  }
  return exitCodeOf(status_);
}

void killProcessesUnder(const std::string& dir) {
  namespace fs = std::filesystem;
  for (int round = 0; round < 50; ++round) {
    bool found = false;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
      std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = std::stoi(name);
      if (pid == getpid()) continue;
      std::error_code linkError;
      std::string cwd = fs::read_symlink(entry.path() / "cwd", linkError);
      std::string cmdline;
      std::ifstream(entry.path() / "cmdline") >> cmdline;
      if ((!linkError && cwd.rfind(dir, 0) == 0) || cmdline.find(dir) != std::string::npos) {
        ::kill(pid, SIGKILL);
        found = true;
      }
    }
    if (!found) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void removeContainerCgroups(const std::string& dir) {
  namespace fs = std::filesystem;
  std::set<std::string> containers;
  std::error_code ec;
  for (const auto& agent : fs::directory_iterator(dir, ec)) {
    // The work dir's and the default runtime dir's halves (agent/paths.hpp).
    for (const fs::path& root :
         {agent.path() / "containers", agent.path() / "run" / "containers"}) {
      std::error_code inner;
      for (const auto& c : fs::directory_iterator(root, inner))
        containers.insert(c.path().filename());
    }
  }
  if (containers.empty()) return;
  // Depth-first so children go before parents; rmdir only succeeds on empty cgroups.
  std::vector<fs::path> doomed;
  for (auto it = fs::recursive_directory_iterator(
           "/sys/fs/cgroup", fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_directory() && containers.count(it->path().filename())) doomed.push_back(it->path());
  }
  for (auto p = doomed.rbegin(); p != doomed.rend(); ++p) {
    for (int i = 0; i < 50 && rmdir(p->c_str()) != 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    rmdir(p->parent_path().c_str());  // the agent's "agora" directory, once empty
  }
}

uint16_t freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string binPath(const std::string& name) { return std::string(AGORA_BIN_DIR) + "/" + name; }

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

Cluster::Cluster() {
  char tmpl[] = "/tmp/agora-it-XXXXXX";
  char* dir = mkdtemp(tmpl);
  if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = dir;
  // Tasks run as nobody: let them through to files a test leaves for them
  // (by name only; the directory stays unlistable).
  chmod(dir, 0711);
  // The master's HTTP address is fixed by then: pick the ports now.
  masterHttpPort_ = freePort();
  masterZmqPort_ = freePort();
  auto made = ensureLocalCredentials(root_ + "/security", masterHttp());
  if (!made) throw std::runtime_error("cannot make credentials: " + made.error().message);
  credentials_ = *made;
  http::setDefaultCredentials({{}, credentials_.operatorToken});
  // Children this process spawns itself (not through runCommand) find it too.
  setenv("AGORA_CONFIG", credentials_.clientConfig.c_str(), 1);
}

std::optional<CurveClientKeys> Cluster::schedulerKeys() const {
  auto keys = loadCurveClientKeys(credentials_.frameworkKey, credentials_.masterPublicKey);
  if (!keys) throw std::runtime_error("scheduler keys: " + keys.error().message);
  return *keys;
}

std::vector<std::string> Cluster::agentSecurityFlags() const {
  return {
      "--curve-key", credentials_.agentKey,  "--master-public-key", credentials_.masterPublicKey,
      "--tokens",    credentials_.tokensFile};
}

CurveClientKeys Cluster::makeKnownKeys(const std::string& kind, const std::string& name) const {
  std::string prefix = credentials_.credentialsDir + "/" + kind + "/" + name;
  auto pair = generateCurveKeyPair();
  if (!pair) throw std::runtime_error("keys: " + pair.error().message);
  if (Status s = writeCurveKeyPair(prefix, *pair); !s) {
    throw std::runtime_error("keys: " + s.error().message);
  }
  return **loadCurveClientKeys(prefix + ".key", credentials_.masterPublicKey);
}

void Cluster::secureSocket(zmq::socket_t& socket, bool asAgent) const {
  auto keys = loadCurveClientKeys(asAgent ? credentials_.agentKey : credentials_.frameworkKey,
                                  credentials_.masterPublicKey);
  if (!keys || !*keys) throw std::runtime_error("keys: " + (keys ? "none" : keys.error().message));
  setCurveClient(socket, **keys);
}

namespace {

bool hasFlag(const std::vector<std::string>& flags, const std::string& flag) {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

}  // namespace

Cluster::~Cluster() {
  for (auto& a : agents_) {
    if (a) a->signal(SIGTERM);
  }
  for (auto& a : agents_) {
    if (a && a->wait(std::chrono::seconds(5)) < 0) a->signal(SIGKILL);
  }
  agents_.clear();
  if (master_) {
    master_->signal(SIGTERM);
    if (master_->wait(std::chrono::seconds(5)) < 0) master_->signal(SIGKILL);
    master_.reset();
  }
  // An agent killed with SIGKILL leaves its executors and tasks behind (they
  // outlive agent restarts by design): kill whatever still runs in this
  // cluster's work dirs, then remove the cgroups its containers had.
  killProcessesUnder(root_);
  removeContainerCgroups(root_);
  // The agents' default cgroup root ("agora"), once no agent uses it: an
  // agent makes it again with its next container.
  std::error_code ec;
  for (const auto& controller : std::filesystem::directory_iterator("/sys/fs/cgroup", ec)) {
    rmdir((controller.path() / "agora").c_str());
  }
  // AGORA_KEEP_TEST_ROOT=1 keeps the logs and work dirs for a post-mortem.
  if (getenv("AGORA_KEEP_TEST_ROOT") != nullptr) {
    std::cerr << "kept " << root_ << std::endl;
    return;
  }
  std::filesystem::remove_all(root_, ec);
}

std::unique_ptr<Child> Cluster::startService(const std::string& name, const std::string& api,
                                             std::vector<std::string> extraFlags) {
  std::vector<std::string> argv = {
      binPath("agora-service"), "--master", masterEndpoint(), "--http", api, "--tokens",
      credentials_.tokensFile};
  if (!hasFlag(extraFlags, "--work-dir"))
    argv.insert(argv.end(), {"--work-dir", root_ + "/service"});
  argv.insert(argv.end(), extraFlags.begin(), extraFlags.end());
  return startProcess(name, std::move(argv));
}

std::unique_ptr<Child> Cluster::startProcess(const std::string& name,
                                             std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.stdoutPath = root_ + "/" + name + ".out";
  options.stderrPath = root_ + "/" + name + ".err";
  options.dieWithParent = true;
  auto pid = spawn(options);
  if (!pid) throw std::runtime_error("cannot start " + name + ": " + pid.error().message);
  return std::make_unique<Child>(name, *pid);
}

void Cluster::startMaster(std::vector<std::string> extraFlags) {
  std::vector<std::string> argv = {
      binPath("agora-master"), "--work-dir", root_ + "/master", "--http", masterHttp(), "--listen",
      masterEndpoint()};
  if (!hasFlag(extraFlags, "--curve-key")) {
    argv.insert(argv.end(), {"--curve-key", credentials_.masterKey, "--credentials",
                             credentials_.credentialsDir});
  }
  if (!hasFlag(extraFlags, "--tokens"))
    argv.insert(argv.end(), {"--tokens", credentials_.tokensFile});
  std::vector<std::pair<std::string, std::string>> defaults = {
      {"--agent-ping-interval", "0.2"},
      {"--agent-max-missed-pings", "5"},
      {"--framework-heartbeat-interval", "0.5"}};
  for (const auto& [flag, value] : defaults) {
    if (std::find(extraFlags.begin(), extraFlags.end(), flag) != extraFlags.end()) continue;
    argv.push_back(flag);
    argv.push_back(value);
  }
  argv.insert(argv.end(), extraFlags.begin(), extraFlags.end());
  master_ = startProcess("master", argv);
  bool up = eventually([&] { return !masterGet("/health").is_null(); });
  if (!up) throw std::runtime_error("master did not become healthy; see " + root_ + "/master.err");
}

int Cluster::startAgent(const std::string& resources, std::vector<std::string> extraFlags,
                        bool awaitRegistration) {
  int index = static_cast<int>(agents_.size());
  uint16_t port = freePort();
  agentHttpPorts_.push_back(port);
  std::string name = "agent" + std::to_string(index);
  std::vector<std::string> argv = {binPath("agora-agent"),
                                   "--master",
                                   masterEndpoint(),
                                   "--work-dir",
                                   root_ + "/" + name,
                                   "--http",
                                   agentHttp(index),
                                   "--resources",
                                   resources,
                                   "--status-update-retry-min",
                                   "0.5",
                                   "--status-update-retry-max",
                                   "2"};
  if (!hasFlag(extraFlags, "--curve-key")) {
    argv.insert(argv.end(), {"--curve-key", credentials_.agentKey, "--master-public-key",
                             credentials_.masterPublicKey});
  }
  if (!hasFlag(extraFlags, "--tokens"))
    argv.insert(argv.end(), {"--tokens", credentials_.tokensFile});
  argv.insert(argv.end(), extraFlags.begin(), extraFlags.end());
  size_t before = masterGet("/api/v1/agents").value("agents", nlohmann::json::array()).size();
  agentArgvs_.push_back(argv);
  agents_.push_back(startProcess(name, argv));
  if (!awaitRegistration) return index;
  bool registered = eventually([&] {
    return masterGet("/api/v1/agents").value("agents", nlohmann::json::array()).size() > before;
  });
  if (!registered) throw std::runtime_error(name + " did not register; see " + root_);
  return index;
}

void Cluster::restartAgent(int index) {
  agents_.at(index) = startProcess("agent" + std::to_string(index), agentArgvs_.at(index));
}

bool Cluster::restartMasterAfterSigkill() {
  master().signal(SIGKILL);
  master().wait(std::chrono::seconds(10));
  startMaster();
  return eventually([&] {
    auto agents = masterGet("/api/v1/agents");
    if (!agents.is_object() || agents["agents"].size() != agents_.size()) return false;
    for (const auto& agent : agents["agents"]) {
      if (agent["status"] != "REGISTERED") return false;
    }
    return true;
  });
}

nlohmann::json Cluster::masterGet(const std::string& path) const {
  auto response = http::get("http://" + masterHttp() + path, std::chrono::seconds(5));
  if (!response || response->status != 200) return nullptr;
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  return json.is_discarded() ? nlohmann::json() : json;
}

nlohmann::json Cluster::task(const std::string& taskId) const {
  auto tasks = masterGet("/api/v1/tasks");
  if (!tasks.is_object()) return nullptr;
  for (const auto& t : tasks.value("tasks", nlohmann::json::array())) {
    if (t.value("id", "") == taskId) return t;
  }
  return nullptr;
}

int Cluster::runCommand(const std::vector<std::string>& argv, std::string* out, std::string* err,
                        std::chrono::milliseconds timeout, const std::vector<std::string>& env) {
  static int counter = 0;
  std::string outPath = root_ + "/cmd" + std::to_string(++counter) + ".out";
  SpawnOptions options;
  options.argv = argv;
  options.stdoutPath = outPath;
  options.stderrPath = outPath + ".err";
  if (!env.empty()) {
    // This process's environment (AGORA_CONFIG among it), `env` replacing
    // entries of the same name.
    std::map<std::string, std::string> merged;
    auto add = [&](const std::string& entry) { merged[entry.substr(0, entry.find('='))] = entry; };
    for (char** e = environ; *e; ++e) add(*e);
    for (const auto& entry : env) add(entry);
    options.env.emplace();
    for (const auto& [name, entry] : merged) options.env->push_back(entry);
  }
  auto pid = spawn(options);
  if (!pid) return -1;
  Child child("cmd", *pid);
  int code = child.wait(timeout);
  auto slurp = [](const std::string& path) {
    std::stringstream ss;
    ss << std::ifstream(path).rdbuf();
    return ss.str();
  };
  if (out) *out = slurp(outPath);
  if (err) *err = slurp(outPath + ".err");
  return code;
}

}  // namespace agora::testing
