#include "cli/dev_command.hpp"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/arguments.hpp"
#include "cli/child_process.hpp"
#include "cli/dev_tasks.hpp"
#include "cli/master_client.hpp"
#include "common/checkpoint_file.hpp"
#include "common/client_config.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(20);
constexpr auto kStopGrace = std::chrono::seconds(10);
// How long the stopped tasks' ends may take to reach the master.
constexpr auto kEndsReachTheMaster = std::chrono::seconds(5);

// Waits until the master lists none of `stopped` as active: their ends then
// reached it, and through it their frameworks (an `agora run` streaming one
// exits with its code), before the cluster goes. Bounded: a stuck report is
// not worth hanging the stop for.
void awaitEndsAtTheMaster(const std::string& masterHttp, const std::vector<StoppedTask>& stopped) {
  auto deadline = std::chrono::steady_clock::now() + kEndsReachTheMaster;
  while (!stopped.empty() && std::chrono::steady_clock::now() < deadline) {
    auto answer =
        http::get("http://" + masterHttp + "/api/v1/tasks?state=active", std::chrono::seconds(1));
    if (answer && answer->status == 200) {
      auto body = nlohmann::json::parse(answer->body, nullptr, false);
      bool pending = false;
      if (body.is_object() && body.contains("tasks") && body["tasks"].is_array()) {
        for (const auto& task : body["tasks"]) {
          for (const StoppedTask& gone : stopped) {
            pending = pending || (task.is_object() && task.value("id", "") == gone.taskId &&
                                  task.value("framework_id", "") == gone.frameworkId);
          }
        }
      }
      if (!pending) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}
// Names the `agora dev` running on a work dir; left behind only when it died
// without stopping its cluster (kill -9), which the next start cleans up.
constexpr const char* kMarkerFile = "dev.pid";

struct DevOptions {
  std::string workDir, resources, allowedHostPaths;
  std::string masterHttp = "127.0.0.1:5050";
  std::string listen = "tcp://127.0.0.1:5055";
  std::string agentHttp = "127.0.0.1:5051";
  std::string serviceHttp = "127.0.0.1:5060";  // "": no service framework
  bool clean = false;
};

std::string tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.erase(last.begin());
  }
  std::string out;
  for (const auto& l : last) out += "    " + l + "\n";
  return out;
}

bool healthy(const std::string& address) {
  auto r = http::get("http://" + std::string(address) + "/health", std::chrono::seconds(1));
  return r && r->status == 200;
}

// Polls `ready` until true; false if the child died or the timeout passed.
template <class Ready>
Status waitUntil(ChildProcess& child, const std::string& log, const std::string& what,
                 Ready ready) {
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto status = child.poll()) {
      return makeError(ErrorCode::kUnavailable, child.name() + " " + describeWaitStatus(*status) +
                                                    " while starting; " + log + " ends with:\n" +
                                                    tail(log, 15));
    }
    if (ready()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return makeError(ErrorCode::kTimeout, child.name() + " did not become " + what + " within " +
                                            std::to_string(kStartTimeout.count()) + "s; see " +
                                            log);
}

bool agentRegistered(const std::string& masterHttp, const std::string& agentId) {
  auto agents = MasterClient(masterHttp, std::chrono::seconds(1)).getJson("/api/v1/agents");
  if (!agents || !(*agents)["agents"].is_array()) return false;
  for (const auto& a : (*agents)["agents"]) {
    if (a.is_object() && a.value("id", "") == agentId) return true;
  }
  return false;
}

std::string agentId(const std::string& agentHttp) {
  auto r = http::get("http://" + agentHttp + "/health", std::chrono::seconds(1));
  if (!r || r->status != 200) return "";
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  return body.is_object() ? body.value("agent_id", "") : "";
}

Result<std::unique_ptr<ChildProcess>> startDaemon(const std::string& name, const std::string& log,
                                                  std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.stdoutPath = log;
  options.stderrPath = log;
  return ChildProcess::start(name, std::move(options));
}

std::string defaultWorkDir() {
  const char* home = getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : "/tmp") + "/.agora/dev";
}

// The pid in WORK/dev.pid, 0 when there is none.
pid_t markedPid(const std::string& workDir) {
  std::ifstream in(workDir + "/" + kMarkerFile);
  long pid = 0;
  in >> pid;
  return pid > 0 ? static_cast<pid_t>(pid) : 0;
}

// Whether `pid` is an `agora dev` still running (a pid from a stale marker may
// have been reused by another program).
bool devRunning(pid_t pid) {
  if (pid <= 0 || pid == getpid()) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
  std::string base = argv0.substr(argv0.rfind('/') + 1);
  return base == "agora" && cmdline.find(std::string("\0dev", 4)) != std::string::npos;
}

// The ACLs of a dev cluster: the built-in defaults (no root tasks, no
// privileged containers or added capabilities), plus host-path volumes for
// the local framework principal under the directories --allowed-host-paths
// names. Rewritten at every start.
Status writeDevAcls(const std::string& path, const std::string& allowedHostPaths) {
  nlohmann::json paths = nlohmann::json::array();
  std::stringstream list(allowedHostPaths);
  for (std::string dir; std::getline(list, dir, ',');) {
    if (!dir.empty()) paths.push_back(dir);
  }
  nlohmann::json acls{{"permissive", true}};
  if (!paths.empty()) {
    acls["mount_host_paths"] = nlohmann::json::array(
        {{{"principals", nlohmann::json::array({"framework:local"})}, {"paths", paths}}});
  }
  return writePrivateFile(path, acls.dump(2) + "\n");
}

std::vector<std::string> agentArgv(const DevOptions& o, const LocalCredentials& keys,
                                   bool cleanup) {
  std::string bin = selfDirectory();
  std::vector<std::string> argv = {
      bin + "/agora-agent",      "--master",    o.listen,        "--work-dir",
      o.workDir + "/agent",      "--http",      o.agentHttp,     "--log-dir",
      o.workDir + "/logs/agent", "--curve-key", keys.agentKey,   "--master-public-key",
      keys.masterPublicKey,      "--tokens",    keys.tokensFile, "--anonymous-read"};
  if (!o.resources.empty()) argv.insert(argv.end(), {"--resources", o.resources});
  if (!o.allowedHostPaths.empty()) {
    argv.insert(argv.end(), {"--allowed-host-paths", o.allowedHostPaths});
  }
  // The containers an abruptly stopped cluster left running are killed
  // before the agent starts (its --recover=cleanup).
  if (cleanup) argv.insert(argv.end(), {"--recover", "cleanup"});
  return argv;
}

// `agora dev --clean`: kills the tasks an abruptly stopped cluster left
// running (through the agent's --recover=cleanup, which reads its
// checkpoints and stops before serving HTTP) and removes the work dir.
int cleanWorkDir(const DevOptions& o, const LocalCredentials& keys) {
  std::error_code ec;
  if (std::filesystem::exists(o.workDir + "/agent", ec)) {
    std::string log = o.workDir + "/agent-clean.log";
    auto agent = startDaemon("agora-agent", log, agentArgv(o, keys, /*cleanup=*/true));
    if (!agent) return fail(agent.error());
    Status st = waitUntil(**agent, log, "ready", [&] { return healthy(o.agentHttp); });
    (*agent)->stop(kStopGrace);
    if (!st) return fail(st.error().withContext("cannot kill the tasks left in " + o.workDir));
  }
  std::filesystem::remove_all(o.workDir, ec);
  if (ec) return fail(Error{ErrorCode::kIo, "cannot remove " + o.workDir + ": " + ec.message()});
  std::cout << "agora dev: removed " << o.workDir << " and killed any task left running there"
            << std::endl;
  return 0;
}

Result<DevOptions> parseDevOptions(const std::vector<std::string>& args, GlobalOptions& global,
                                   bool& help) {
  DevOptions o;
  po::options_description options("Options");
  options.add_options()("work-dir", po::value(&o.workDir)->default_value(defaultWorkDir()),
                        "state and logs of the master and the agent")(
      "resources", po::value(&o.resources)->default_value(""),
      "the agent's resources, e.g. 'cpus:4;mem:8192' (default: detected)")(
      "allowed-host-paths", po::value(&o.allowedHostPaths)->default_value(""),
      "comma list of host directories under which tasks may bind host-path volumes "
      "(the agent's flag; default: none)")(
      "master-http", po::value(&o.masterHttp)->default_value(o.masterHttp),
      "the master's HTTP API address")("listen", po::value(&o.listen)->default_value(o.listen),
                                       "where the master takes schedulers (ZeroMQ)")(
      "agent-http", po::value(&o.agentHttp)->default_value(o.agentHttp),
      "the agent's HTTP API address")(
      "service-http", po::value(&o.serviceHttp)->default_value(o.serviceHttp),
      "the service framework's API address (agora-service; '' runs none)")(
      "clean", po::bool_switch(&o.clean),
      "kill the tasks a cluster that died abruptly left running, remove the work dir, exit");
  auto parsed = parseArgs(
      "Usage: agora dev [--work-dir DIR] [--clean] [options]\n\n"
      "Runs agora-master (HTTP 127.0.0.1:5050, schedulers at tcp://127.0.0.1:5055),\n"
      "agora-agent (HTTP 127.0.0.1:5051) and the service framework agora-service (API\n"
      "127.0.0.1:5060, `agora service`) on this machine until Ctrl-C, SIGTERM, SIGHUP or\n"
      "the death of its parent process; stopping it stops its tasks (SIGTERM, then SIGKILL\n"
      "after 10s) and names them. A cluster that was killed (kill -9) leaves its tasks\n"
      "running; the next `agora dev` on the work dir, or `agora dev --clean`, kills them.",
      args, options, global);
  if (!parsed) return makeError(parsed.error());
  help = parsed->help;
  return o;
}

// Blocks the stop signals (they are taken with sigtimedwait) and asks for
// SIGTERM when the parent dies (a closed terminal emulator, a killed script).
sigset_t takeStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed terminal must not cut the stop short
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) raise(SIGTERM);  // the parent died before the prctl
  return signals;
}

// Waits for a stop signal or a daemon's death; the exit code.
int superviseUntilStopped(const sigset_t& signals, ChildProcess& master, ChildProcess& agent,
                          const std::string& masterLog, const std::string& agentLog) {
  while (true) {
    timespec tick{0, 250 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      std::cout << "\nagora dev: stopping (" << strsignal(sig) << ")" << std::endl;
      return 0;
    }
    ChildProcess* dead = master.poll() ? &master : agent.poll() ? &agent : nullptr;
    if (dead != nullptr) {
      std::cerr << "agora dev: " << dead->name() << " " << describeWaitStatus(*dead->poll())
                << " unexpectedly; see " << (dead == &master ? masterLog : agentLog) << std::endl;
      return kExitError;
    }
  }
}

}  // namespace

int devCommand(const std::vector<std::string>& args, GlobalOptions global) {
  bool help = false;
  auto parsedOptions = parseDevOptions(args, global, help);
  if (!parsedOptions) return fail(parsedOptions.error());
  if (help) return 0;
  const DevOptions& o = *parsedOptions;

  pid_t previous = markedPid(o.workDir);
  if (devRunning(previous)) {
    return fail(Error{ErrorCode::kFailedPrecondition,
                      "`agora dev` (pid " + std::to_string(previous) + ") is running on " +
                          o.workDir + "; stop it first"});
  }
  // Security is on, as everywhere: CurveZMQ keys for the master, the agent
  // and local schedulers, an operator token, and the client configuration
  // the CLI reads (made once in WORK/security, reused afterwards).
  auto keys = ensureLocalCredentials(o.workDir + "/security", o.masterHttp);
  if (!keys) return fail(keys.error().withContext("cannot set up " + o.workDir + "/security"));
  http::setDefaultCredentials({{}, keys->operatorToken});
  if (o.clean) return cleanWorkDir(o, *keys);
  const std::string acls = o.workDir + "/security/acls.json";
  if (Status s = writeDevAcls(acls, o.allowedHostPaths); !s) return fail(s.error());
  std::error_code ec;
  for (const char* sub : {"master", "agent", "logs/master", "logs/agent"}) {
    std::filesystem::create_directories(o.workDir + "/" + sub, ec);
    if (ec)
      return fail(
          Error{ErrorCode::kIo, "cannot create " + o.workDir + "/" + sub + ": " + ec.message()});
  }
  if (healthy(o.masterHttp)) {
    return fail(Error{ErrorCode::kFailedPrecondition, "something already serves " + o.masterHttp +
                                                          " — is another `agora dev` running?"});
  }
  sigset_t signals = takeStopSignals();
  // Removed on every way out but a kill -9, which the next start detects.
  struct Marker {
    std::string path;
    ~Marker() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  } marker{o.workDir + "/" + kMarkerFile};
  std::ofstream(marker.path) << getpid() << "\n";
  if (previous != 0) {
    std::cout << "agora dev: the cluster last run on " << o.workDir << " (pid " << previous
              << ") did not stop; killing the tasks it left running" << std::endl;
  }

  std::string bin = selfDirectory();
  std::string masterLog = o.workDir + "/master.log", agentLog = o.workDir + "/agent.log";
  auto master =
      startDaemon("agora-master", masterLog,
                  {bin + "/agora-master", "--work-dir", o.workDir + "/master", "--http",
                   o.masterHttp, "--listen", o.listen, "--log-dir", o.workDir + "/logs/master",
                   "--curve-key", keys->masterKey, "--credentials", keys->credentialsDir,
                   "--tokens", keys->tokensFile, "--anonymous-read", "--acls", acls});
  if (!master) return fail(master.error());
  if (auto st = waitUntil(**master, masterLog, "healthy", [&] { return healthy(o.masterHttp); });
      !st) {
    return fail(st.error());
  }
  auto agent = startDaemon("agora-agent", agentLog, agentArgv(o, *keys, /*cleanup=*/previous != 0));
  if (!agent) return fail(agent.error());
  std::string id;
  if (auto st = waitUntil(**agent, agentLog, "registered with the master",
                          [&] {
                            return !(id = agentId(o.agentHttp)).empty() &&
                                   agentRegistered(o.masterHttp, id);
                          });
      !st) {
    (*master)->stop(kStopGrace);
    return fail(st.error());
  }

  // The service framework: its state in WORK/service; the cluster runs on
  // if it fails (its log says why).
  std::unique_ptr<ChildProcess> service;
  std::string serviceLog = o.workDir + "/service.log";
  if (!o.serviceHttp.empty()) {
    auto started =
        startDaemon("agora-service", serviceLog,
                    {bin + "/agora-service", "--master", o.listen, "--work-dir",
                     o.workDir + "/service", "--http", o.serviceHttp, "--config",
                     keys->clientConfig, "--tokens", keys->tokensFile, "--anonymous-read"});
    if (started) {
      service = std::move(*started);
      if (auto st =
              waitUntil(*service, serviceLog, "healthy", [&] { return healthy(o.serviceHttp); });
          !st) {
        std::cerr << "agora dev: the service framework did not start: " << st.error().message
                  << std::endl;
        service->stop(kStopGrace);
        service.reset();
      }
    } else {
      std::cerr << "agora dev: cannot start agora-service: " << started.error().message
                << std::endl;
    }
  }

  std::cout << "agora dev: cluster up (work dir " << o.workDir << ")\n"
            << "  master  http://" << o.masterHttp << "  schedulers: " << o.listen
            << "  log: " << masterLog << "\n"
            << "  agent   http://" << o.agentHttp << "  id: " << id << "  log: " << agentLog << "\n"
            << (service ? "  service http://" + o.serviceHttp + "  log: " + serviceLog + "\n"
                        : std::string())
            << "  security: CurveZMQ keys, an operator token and the CLI's configuration in "
            << o.workDir << "/security\n"
            << (o.workDir == defaultWorkDir()
                    ? std::string()
                    : "  the CLI finds them with: export AGORA_CONFIG=" + keys->clientConfig + "\n")
            << "Try: agora agents | agora run -- echo hello | agora tasks\n"
            << "Ctrl-C stops the cluster and its tasks." << std::endl;

  int exitCode = superviseUntilStopped(signals, **master, **agent, masterLog, agentLog);
  // The service framework first: it would replace the tasks stopped next.
  // It stays registered; the next start fails over to it.
  if (service) service->stop(kStopGrace);
  // Tasks first, while the agent can still report their end; then the agent,
  // so it can finish talking to the master.
  if (!(*agent)->poll()) {
    auto stopped = stopAgentTasks(o.agentHttp, o.workDir + "/agent", kStopGrace);
    if (stopped) {
      awaitEndsAtTheMaster(o.masterHttp, *stopped);
      std::cout << "agora dev: " << describeStopped(*stopped, kStopGrace) << std::endl;
    } else {
      std::cerr << "agora dev: " << stopped.error().message << std::endl;
    }
  }
  (*agent)->stop(kStopGrace);
  (*master)->stop(kStopGrace);
  if (exitCode == 0) std::cout << "agora dev: stopped" << std::endl;
  return exitCode;
}

}  // namespace agora::cli
