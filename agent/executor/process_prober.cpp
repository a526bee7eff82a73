#include "agent/executor/process_prober.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/result.hpp"

namespace agora::agent {

namespace {

// What a network probe's child reports on its pipe.
struct NetworkReport {
  int32_t step = 0;
  int32_t err = 0;
  int32_t httpStatus = 0;
};
enum NetworkStep : int32_t {
  kNetPassed = 0,
  kNetEnter,
  kNetSocket,
  kNetConnect,
  kNetSend,
  kNetReceive,
  kNetResponse,
  kNetStatus,
};

[[noreturn]] void reportNetwork(int fd, int32_t step, int32_t err, int32_t status) {
  NetworkReport report{step, err, status};
  ssize_t n = write(fd, &report, sizeof(report));
  (void)n;
  _exit(step == kNetPassed ? 0 : 1);
}

// Child side of an http/tcp probe. Async-signal-safe.
[[noreturn]] void networkChild(int netFd, uint16_t port, const std::string& request, int fd) {
  if (netFd >= 0 && setns(netFd, CLONE_NEWNET) != 0) reportNetwork(fd, kNetEnter, errno, 0);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) reportNetwork(fd, kNetSocket, errno, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    reportNetwork(fd, kNetConnect, errno, 0);
  }
  if (request.empty()) reportNetwork(fd, kNetPassed, 0, 0);  // tcp
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(s, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) reportNetwork(fd, kNetSend, errno, 0);
    sent += static_cast<size_t>(n);
  }
  // "HTTP/1.1 200 OK\r\n": the status line is all we read.
  char line[64];
  size_t got = 0;
  while (got < 12) {
    ssize_t n = recv(s, line + got, sizeof(line) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) reportNetwork(fd, kNetReceive, errno, 0);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < 12 || std::memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ') {
    reportNetwork(fd, kNetResponse, 0, 0);
  }
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') reportNetwork(fd, kNetResponse, 0, 0);
    status = status * 10 + (line[i] - '0');
  }
  reportNetwork(fd, status >= 200 && status < 400 ? kNetPassed : kNetStatus, 0, status);
}

volatile sig_atomic_t gCommandPid = 0;

// The intermediate child of a command probe stopped at its timeout: takes
// the command's process group with it.
void stopCommand(int) {
  pid_t pid = gCommandPid;
  if (pid > 0) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  _exit(128 + SIGKILL);
}

// Child side of a command probe: joins the namespaces, forks the command
// (a pid namespace only takes children) and exits as it did.
// Async-signal-safe.
[[noreturn]] void commandChild(const std::vector<std::pair<int, int>>& namespaces,
                               const PreparedProcess& command, int errFd) {
  for (const auto& [fd, type] : namespaces) {
    if (setns(fd, type) != 0) failChild(errFd, kStepEnterNamespace);
  }
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &old);
  struct sigaction action {};
  action.sa_handler = stopCommand;
  sigaction(SIGTERM, &action, nullptr);
  pid_t pid = fork();
  if (pid < 0) failChild(errFd, kStepFork);
  if (pid == 0) command.exec(errFd);
  gCommandPid = pid;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  sigprocmask(SIG_UNBLOCK, &term, nullptr);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) _exit(127);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// The task's namespaces that differ from ours, opened, in the order to join.
Result<std::vector<std::pair<int, int>>> openNamespaces(pid_t pid, bool networkOnly) {
  static const std::pair<const char*, int> kAll[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},
                                                     {"uts", CLONE_NEWUTS},   {"net", CLONE_NEWNET},
                                                     {"pid", CLONE_NEWPID},   {"mnt", CLONE_NEWNS}};
  std::vector<std::pair<int, int>> out;
  auto fail = [&](Error error) {
    for (auto& [fd, type] : out) close(fd);
    return makeError(std::move(error));
  };
  for (const auto& [name, type] : kAll) {
    if (networkOnly && type != CLONE_NEWNET) continue;
    std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name;
    std::string ours = std::string("/proc/self/ns/") + name;
    struct stat a {
    }, b{};
    if (stat(theirs.c_str(), &a) != 0) return fail(errnoError("stat " + theirs, errno));
    if (stat(ours.c_str(), &b) != 0) return fail(errnoError("stat " + ours, errno));
    if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    int fd = open(theirs.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(errnoError("open " + theirs, errno));
    out.emplace_back(fd, type);
  }
  return out;
}

void closeNamespaces(const std::vector<std::pair<int, int>>& namespaces) {
  for (const auto& [fd, type] : namespaces) close(fd);
}

std::string describeNetwork(const CheckInfo& check, const NetworkReport& report) {
  std::string where = "127.0.0.1:" + std::to_string(check.port);
  std::string path = check.path.empty() ? "/" : check.path;
  switch (report.step) {
    case kNetPassed:
      return check.kind == CheckKind::HTTP
                 ? "HTTP " + std::to_string(report.httpStatus) + " from GET " + path
                 : "connected to " + where;
    case kNetEnter:
      return errnoError("enter the task's network namespace", report.err).message;
    case kNetSocket:
      return errnoError("socket", report.err).message;
    case kNetConnect:
      return errnoError("connect to " + where, report.err).message;
    case kNetSend:
      return errnoError("send to " + where, report.err).message;
    case kNetReceive:
      return errnoError("receive from " + where, report.err).message;
    case kNetResponse:
      return "GET " + path + " on " + where + ": not an HTTP response";
    case kNetStatus:
      return "HTTP " + std::to_string(report.httpStatus) + " from GET " + path + " on " + where;
  }
  return "probe failed";
}

// What a command check execs: `/bin/sh -c LINE`, or its argv.
std::vector<std::string> argvOf(const CommandInfo& command) {
  if (command.shell) return {"/bin/sh", "-c", command.value};
  return command.arguments.empty() ? std::vector<std::string>{command.value} : command.arguments;
}

// `env` with `name`=`value` in place of any earlier value.
void setEnv(std::vector<std::string>& env, const std::string& name, const std::string& value) {
  std::string prefix = name + "=";
  std::erase_if(env, [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
  env.push_back(prefix + value);
}

}  // namespace

struct ProcessProber::Probe {
  CheckInfo check;
  Done done;
  pid_t pid = 0;
  int reportFd = -1;  // read end of the child's report pipe
  std::optional<EventLoop::TimerId> timer;
  bool timedOut = false;
  bool cancelled = false;
};

ProcessProber::ProcessProber(EventLoop& loop, ChildReaper& reaper, Target target)
    : loop_(loop), reaper_(reaper), target_(std::move(target)) {}

ProcessProber::~ProcessProber() {
  lifetime_.invalidate();
  for (auto& [id, probe] : probes_) {
    if (probe->timer) loop_.cancelTimer(*probe->timer);
    if (probe->pid > 0 && !probe->cancelled) kill(probe->pid, SIGTERM);
    if (probe->reportFd >= 0) close(probe->reportFd);
  }
}

Result<pid_t> ProcessProber::spawnNetwork(const CheckInfo& check, int reportFd) {
  auto namespaces = openNamespaces(target_.pid, /*networkOnly=*/true);
  if (!namespaces) return makeError(namespaces.error());
  std::string request;
  if (check.kind == CheckKind::HTTP) {
    request = "GET " + (check.path.empty() ? std::string("/") : check.path) +
              " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(check.port) +
              "\r\nUser-Agent: agora-check\r\nConnection: close\r\n\r\n";
  }
  int netFd = namespaces->empty() ? -1 : namespaces->front().first;
  pid_t pid = fork();
  if (pid == 0) networkChild(netFd, static_cast<uint16_t>(check.port), request, reportFd);
  int err = errno;
  closeNamespaces(*namespaces);
  if (pid < 0) return makeError(errnoError("fork a probe", err));
  return pid;
}

Result<pid_t> ProcessProber::spawnCommand(const CheckInfo& check, int reportFd) {
  if (!target_.command) {
    return makeError(ErrorCode::kFailedPrecondition, "the task's command options are unknown");
  }
  ProcessOptions options = *target_.command;
  options.argv = argvOf(check.command);
  for (const auto& [name, value] : check.command.environment) setEnv(options.env, name, value);
  options.stdoutPath = "/dev/null";
  options.stderrPath = "/dev/null";
  options.newSession = false;
  options.newProcessGroup = true;
  options.joinFiles.clear();  // we are in the container's cgroups already
  options.passFd = -1;
  options.beforeExec = nullptr;
  auto prepared = PreparedProcess::create(std::move(options));
  if (!prepared) return makeError(prepared.error());
  auto namespaces = openNamespaces(target_.pid, /*networkOnly=*/false);
  if (!namespaces) return makeError(namespaces.error());
  pid_t pid = fork();
  if (pid == 0) commandChild(*namespaces, **prepared, reportFd);
  int err = errno;
  closeNamespaces(*namespaces);
  (*prepared)->closeFiles();
  if (pid < 0) return makeError(errnoError("fork a probe", err));
  return pid;
}

uint64_t ProcessProber::start(const CheckInfo& check, Done done) {
  uint64_t id = nextId_++;
  auto probe = std::make_unique<Probe>();
  probe->check = check;
  probe->done = std::move(done);
  int fds[2];
  Result<pid_t> pid = makeError(ErrorCode::kInternal, "no probe");
  if (pipe2(fds, O_CLOEXEC) != 0) {
    pid = makeError(errnoError("pipe", errno));
  } else {
    pid = check.kind == CheckKind::COMMAND ? spawnCommand(check, fds[1])
                                           : spawnNetwork(check, fds[1]);
    close(fds[1]);
    if (pid) {
      probe->reportFd = fds[0];
      fcntl(fds[0], F_SETFL, O_NONBLOCK);
    } else {
      close(fds[0]);
    }
  }
  if (!pid) {
    // Reported from the loop, as a probe's end always is.
    std::string message = "cannot start the probe: " + pid.error().message;
    loop_.post(lifetime_.wrap([this, id, message] { finish(id, {false, message}); }));
    probes_.emplace(id, std::move(probe));
    return id;
  }
  probe->pid = *pid;
  probe->timer =
      loop_.addTimer(seconds(check.timeoutSec), lifetime_.wrap([this, id] { onTimeout(id); }));
  reaper_.watch(*pid, lifetime_.wrap([this, id](int status) { onExit(id, status); }));
  probes_.emplace(id, std::move(probe));
  return id;
}

void ProcessProber::cancel(uint64_t id) {
  auto it = probes_.find(id);
  if (it == probes_.end()) return;
  Probe& probe = *it->second;
  if (probe.timer) loop_.cancelTimer(*probe.timer);
  probe.timer.reset();
  if (probe.pid <= 0) {
    probes_.erase(it);
    return;
  }
  // Reaped later (onExit drops it).
  probe.cancelled = true;
  kill(probe.pid, probe.check.kind == CheckKind::COMMAND ? SIGTERM : SIGKILL);
}

void ProcessProber::onTimeout(uint64_t id) {
  auto it = probes_.find(id);
  if (it == probes_.end()) return;
  Probe& probe = *it->second;
  probe.timer.reset();
  probe.timedOut = true;
  // A command probe's intermediate child takes the command's group with it;
  // SIGKILL follows if it does not go.
  kill(probe.pid, probe.check.kind == CheckKind::COMMAND ? SIGTERM : SIGKILL);
  pid_t pid = probe.pid;
  probe.timer = loop_.addTimer(seconds(1), lifetime_.wrap([this, id, pid] {
    auto again = probes_.find(id);
    if (again == probes_.end()) return;
    again->second->timer.reset();
    kill(pid, SIGKILL);
  }));
}

void ProcessProber::onExit(uint64_t id, int waitStatus) {
  auto it = probes_.find(id);
  if (it == probes_.end()) return;
  Probe& probe = *it->second;
  if (probe.timer) loop_.cancelTimer(*probe.timer);
  probe.timer.reset();
  if (probe.cancelled) {
    close(probe.reportFd);
    probes_.erase(it);
    return;
  }
  ProbeResult result;
  const CheckInfo& check = probe.check;
  if (probe.timedOut) {
    char timeout[32];
    std::snprintf(timeout, sizeof(timeout), "%g", check.timeoutSec);
    result = {false, std::string("timed out after ") + timeout + " s"};
  } else if (check.kind == CheckKind::COMMAND) {
    if (auto failure = readChildFailure(probe.reportFd)) {
      ProcessOptions described = target_.command.value_or(ProcessOptions{});
      described.argv = argvOf(check.command);
      result = {false, "command: " + describeChildFailure(*failure, described).message};
    } else if (WIFEXITED(waitStatus) && WEXITSTATUS(waitStatus) == 0) {
      result = {true, "command exited with status 0"};
    } else {
      int code = WIFEXITED(waitStatus) ? WEXITSTATUS(waitStatus) : 128 + WTERMSIG(waitStatus);
      result = {false, "command exited with status " + std::to_string(code)};
    }
  } else {
    NetworkReport report;
    ssize_t n = read(probe.reportFd, &report, sizeof(report));
    if (n == static_cast<ssize_t>(sizeof(report))) {
      result = {report.step == kNetPassed, describeNetwork(check, report)};
    } else {
      result = {false, "the probe ended without a report"};
    }
  }
  finish(id, std::move(result));
}

void ProcessProber::finish(uint64_t id, ProbeResult result) {
  auto it = probes_.find(id);
  if (it == probes_.end()) return;
  Done done = std::move(it->second->done);
  if (it->second->reportFd >= 0) close(it->second->reportFd);
  probes_.erase(it);
  if (done) done(std::move(result));
}

}  // namespace agora::agent
