#include "cli/dev_command.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/arguments.hpp"
#include "cli/child_process.hpp"
#include "cli/master_client.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

namespace {

constexpr const char* kMasterHttp = "127.0.0.1:5050";
constexpr const char* kMasterListen = "tcp://127.0.0.1:5055";
constexpr const char* kAgentHttp = "127.0.0.1:5051";
constexpr auto kStartTimeout = std::chrono::seconds(20);
constexpr auto kStopGrace = std::chrono::seconds(10);

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

bool agentRegistered(const std::string& agentId) {
  auto agents = MasterClient(kMasterHttp, std::chrono::seconds(1)).getJson("/api/v1/agents");
  if (!agents || !(*agents)["agents"].is_array()) return false;
  for (const auto& a : (*agents)["agents"]) {
    if (a.is_object() && a.value("id", "") == agentId) return true;
  }
  return false;
}

std::string agentId() {
  auto r = http::get(std::string("http://") + kAgentHttp + "/health", std::chrono::seconds(1));
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

}  // namespace

int devCommand(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  std::string workDir, resources;
  options.add_options()("work-dir", po::value(&workDir)->default_value(defaultWorkDir()),
                        "state and logs of the master and the agent")(
      "resources", po::value(&resources)->default_value(""),
      "the agent's resources, e.g. 'cpus:4;mem:8192' (default: detected)");
  auto parsed = parseArgs(
      "Usage: agora dev [--work-dir DIR]\n\n"
      "Runs agora-master (HTTP 127.0.0.1:5050, schedulers at tcp://127.0.0.1:5055) and\n"
      "agora-agent (HTTP 127.0.0.1:5051) on this machine until Ctrl-C.",
      args, options, global);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;

  std::error_code ec;
  for (const char* sub : {"master", "agent", "logs/master", "logs/agent"}) {
    std::filesystem::create_directories(workDir + "/" + sub, ec);
    if (ec)
      return fail(
          Error{ErrorCode::kIo, "cannot create " + workDir + "/" + sub + ": " + ec.message()});
  }
  if (healthy(kMasterHttp)) {
    return fail(Error{ErrorCode::kFailedPrecondition, std::string("something already serves ") +
                                                          kMasterHttp +
                                                          " — is another `agora dev` running?"});
  }
  // Ctrl-C and SIGTERM are taken with sigtimedwait below; children get a clean mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &signals, nullptr);

  std::string bin = selfDirectory();
  std::string masterLog = workDir + "/master.log", agentLog = workDir + "/agent.log";
  auto master =
      startDaemon("agora-master", masterLog,
                  {bin + "/agora-master", "--work-dir", workDir + "/master", "--http", kMasterHttp,
                   "--listen", kMasterListen, "--log-dir", workDir + "/logs/master"});
  if (!master) return fail(master.error());
  if (auto st = waitUntil(**master, masterLog, "healthy", [] { return healthy(kMasterHttp); });
      !st) {
    return fail(st.error());
  }
  std::vector<std::string> agentArgv = {
      bin + "/agora-agent", "--master",         kMasterListen,
      "--work-dir",         workDir + "/agent", "--http",
      kAgentHttp,           "--log-dir",        workDir + "/logs/agent"};
  if (!resources.empty()) agentArgv.insert(agentArgv.end(), {"--resources", resources});
  auto agent = startDaemon("agora-agent", agentLog, agentArgv);
  if (!agent) return fail(agent.error());
  std::string id;
  if (auto st = waitUntil(**agent, agentLog, "registered with the master",
                          [&] { return !(id = agentId()).empty() && agentRegistered(id); });
      !st) {
    (*master)->stop(kStopGrace);
    return fail(st.error());
  }

  std::cout << "agora dev: cluster up (work dir " << workDir << ")\n"
            << "  master  http://" << kMasterHttp << "  schedulers: " << kMasterListen
            << "  log: " << masterLog << "\n"
            << "  agent   http://" << kAgentHttp << "  id: " << id << "  log: " << agentLog << "\n"
            << "Try: agora agents | agora run -- echo hello | agora tasks\n"
            << "Ctrl-C stops the cluster." << std::endl;

  int exitCode = 0;
  while (true) {
    timespec tick{0, 250 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      std::cout << "\nagora dev: stopping" << std::endl;
      break;
    }
    ChildProcess* dead = (*master)->poll()  ? master->get()
                         : (*agent)->poll() ? agent->get()
                                            : nullptr;
    if (dead != nullptr) {
      std::cerr << "agora dev: " << dead->name() << " " << describeWaitStatus(*dead->poll())
                << " unexpectedly; see " << (dead == master->get() ? masterLog : agentLog)
                << std::endl;
      exitCode = kExitError;
      break;
    }
  }
  // The agent first, so it can finish talking to the master.
  (*agent)->stop(kStopGrace);
  (*master)->stop(kStopGrace);
  if (exitCode == 0) std::cout << "agora dev: stopped" << std::endl;
  return exitCode;
}

}  // namespace agora::cli
