#include "cli/dev_tasks.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/http_client.hpp"

namespace agora::cli {

namespace {

struct Proc {
  pid_t ppid = 0;
  char state = '?';
  std::string comm;
};

// pid -> (ppid, state) of every process, from /proc/<pid>/stat.
std::map<pid_t, Proc> scanProcesses() {
  std::map<pid_t, Proc> out;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::ifstream in("/proc/" + std::string(entry->d_name) + "/stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    Proc p;
    size_t open = line.find('(');
    if (open != std::string::npos && open < close) p.comm = line.substr(open + 1, close - open - 1);
    rest >> p.state >> p.ppid;
    if (rest) out[static_cast<pid_t>(pid)] = p;
  }
  closedir(dir);
  return out;
}

bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// How long an executor has to report its task's end once the task is gone.
constexpr auto kExecutorExitWait = std::chrono::seconds(3);

struct Running {
  StoppedTask task;
  pid_t executor = 0;
  std::vector<pid_t> taskProcesses;  // the executor's descendants when stopping began
};

bool anyAlive(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (alive(pid)) return true;
  }
  return false;
}

void signalTree(pid_t executor, int sig, bool includeExecutor) {
  for (pid_t pid : descendantsOf(executor)) {
    ::kill(-pid, sig);  // its process group, when it leads one
    ::kill(pid, sig);
  }
  if (includeExecutor) ::kill(executor, sig);
}

// Processes whose working directory lies under `dir`: the tasks (their
// sandboxes), also those the agent's view does not list yet (a launch the
// stop raced with) and those in their own pid namespace.
std::vector<pid_t> processesIn(const std::string& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  auto real = std::filesystem::weakly_canonical(dir, ec);
  if (ec) return out;
  std::string prefix = real.string() + "/";
  for (const auto& [pid, p] : scanProcesses()) {
    // Executors ignore SIGTERM and exit once their task has ended.
    if (p.state == 'Z' || pid == getpid() || p.comm == "agora-executor") continue;
    auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
    if (!ec && (cwd.string() + "/").rfind(prefix, 0) == 0) out.push_back(pid);
  }
  return out;
}

}  // namespace

std::vector<pid_t> descendantsOf(pid_t root) {
  auto procs = scanProcesses();
  std::vector<pid_t> out;
  std::vector<pid_t> frontier = {root};
  while (!frontier.empty()) {
    std::vector<pid_t> next;
    for (const auto& [pid, p] : procs) {
      if (p.state == 'Z') continue;
      for (pid_t parent : frontier) {
        if (p.ppid == parent) next.push_back(pid);
      }
    }
    out.insert(out.end(), next.begin(), next.end());
    frontier = std::move(next);
  }
  return out;
}

Result<std::vector<StoppedTask>> stopAgentTasks(const std::string& agentAddress,
                                                const std::string& agentWorkDir,
                                                std::chrono::milliseconds grace) {
  auto response = http::get("http://" + agentAddress + "/api/v1/containers", std::chrono::seconds(5));
  if (!response) return makeError(response.error().withContext("cannot list the agent's containers"));
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || !body.is_object() || !body["containers"].is_array()) {
    return makeError(ErrorCode::kProtocol, "the agent at " + agentAddress +
                                               " answered " + std::to_string(response->status) +
                                               " for /api/v1/containers");
  }
  std::vector<Running> running;
  for (const auto& c : body["containers"]) {
    pid_t executor = c.value("executor_pid", 0);
    if (executor <= 0 || !alive(executor)) continue;
    running.push_back({{c.value("task_id", ""), c.value("framework_id", ""), false}, executor,
                       descendantsOf(executor)});
  }
  for (const Running& r : running) signalTree(r.executor, SIGTERM, false);
  // Task processes no listed executor accounts for.
  Running strays;
  strays.taskProcesses = processesIn(agentWorkDir);
  std::erase_if(strays.taskProcesses, [&](pid_t pid) {
    for (const Running& r : running) {
      if (pid == r.executor ||
          std::find(r.taskProcesses.begin(), r.taskProcesses.end(), pid) != r.taskProcesses.end()) {
        return true;
      }
    }
    return false;
  });
  for (pid_t pid : strays.taskProcesses) ::kill(pid, SIGTERM);
  auto waitFor = [](auto done, std::chrono::steady_clock::time_point deadline) {
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  auto now = std::chrono::steady_clock::now();
  waitFor([&] {
    for (const Running& r : running) {
      if (anyAlive(r.taskProcesses)) return false;
    }
    return !anyAlive(strays.taskProcesses);
  }, now + grace);
  for (pid_t pid : strays.taskProcesses) {
    if (alive(pid)) ::kill(pid, SIGKILL);
  }
  for (Running& r : running) {
    if (anyAlive(r.taskProcesses)) {
      r.task.killed = true;
      signalTree(r.executor, SIGKILL, false);
    }
  }
  // Each executor reports its task's end to the agent, then exits.
  waitFor([&] {
    for (const Running& r : running) {
      if (alive(r.executor)) return false;
    }
    return true;
  }, std::chrono::steady_clock::now() + kExecutorExitWait);
  std::vector<StoppedTask> out;
  for (Running& r : running) {
    if (alive(r.executor)) signalTree(r.executor, SIGKILL, true);
    out.push_back(r.task);
  }
  if (!strays.taskProcesses.empty()) {
    out.push_back({std::to_string(strays.taskProcesses.size()) + " process(es) of tasks still "
                   "starting", "", false});
  }
  return out;
}

std::string describeStopped(const std::vector<StoppedTask>& tasks,
                            std::chrono::milliseconds grace) {
  if (tasks.empty()) return "no tasks were running";
  std::string out = "stopped " + std::to_string(tasks.size()) +
                    (tasks.size() == 1 ? " task: " : " tasks: ");
  std::string killed;
  for (size_t i = 0; i < tasks.size(); ++i) {
    out += (i ? ", " : "") + tasks[i].taskId;
    if (tasks[i].killed) killed += (killed.empty() ? "" : ", ") + tasks[i].taskId;
  }
  if (!killed.empty()) {
    out += " (" + killed + " killed after " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(grace).count()) + "s)";
  }
  return out;
}

}  // namespace agora::cli
