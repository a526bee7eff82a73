#include "tests/support/netns_link.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace agora::testing {

namespace {

constexpr const char* kPrefix = "agnl";
constexpr const char* kNetnsDir = "/run/netns";

std::atomic<int> nextLink{0};

// Runs argv, waiting at most 10 s; stdout into *out when given.
Status run(const std::vector<std::string>& argv, std::string* out) {
  char errTmpl[] = "/tmp/agnl-err-XXXXXX";
  char outTmpl[] = "/tmp/agnl-out-XXXXXX";
  int errFd = mkstemp(errTmpl);
  int outFd = mkstemp(outTmpl);
  if (errFd >= 0) close(errFd);
  if (outFd >= 0) close(outFd);
  SpawnOptions options;
  options.argv = argv;
  options.stderrPath = errTmpl;
  options.stdoutPath = outTmpl;
  auto read = [](const char* path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  auto cleanup = [&] {
    unlink(errTmpl);
    unlink(outTmpl);
  };
  auto pid = spawn(options);
  std::string command;
  for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
  if (!pid) {
    cleanup();
    return makeError(ErrorCode::kUnavailable, command + ": " + pid.error().message);
  }
  auto exited = waitForExit(*pid, std::chrono::seconds(10));
  if (!exited) {
    kill(*pid, SIGKILL);
    waitpid(*pid, nullptr, 0);
    cleanup();
    return makeError(ErrorCode::kUnavailable, command + ": timed out");
  }
  int status = *exited;
  std::string err = read(errTmpl);
  if (out != nullptr) *out = read(outTmpl);
  cleanup();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return makeError(ErrorCode::kUnavailable,
                     command + ": " + describeWaitStatus(status) + ": " + err);
  }
  return {};
}

bool sameNamespace(const struct stat& ns, pid_t pid) {
  struct stat st {};
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  return stat(path.c_str(), &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev;
}

std::vector<pid_t> pidsIn(const std::string& nsPath) {
  std::vector<pid_t> pids;
  struct stat ns {};
  if (stat(nsPath.c_str(), &ns) != 0) return pids;
  // Never the host's own namespace (e.g. a path that is not a bind mount).
  if (sameNamespace(ns, getpid())) return pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (pid > 0 && *end == '\0' && sameNamespace(ns, static_cast<pid_t>(pid))) {
      pids.push_back(static_cast<pid_t>(pid));
    }
  }
  closedir(proc);
  return pids;
}

// SIGKILLs every process in the namespace, and waits (2 s at most) until
// none is left (an exited process leaves its namespace at once, even while
// a zombie; reaping stays with its parent).
void killAllIn(const std::string& nsPath) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (true) {
    auto pids = pidsIn(nsPath);
    if (pids.empty() || std::chrono::steady_clock::now() > deadline) return;
    for (pid_t pid : pids) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// An unused /30 in 10.254.0.0/16 (host-side addresses are visible here).
Result<uint32_t> pickSubnet(int seed) {
  std::string addresses;
  if (Status s = run({"ip", "-o", "-4", "addr", "show"}, &addresses); !s)
    return makeError(s.error());
  for (int attempt = 0; attempt < 16384; ++attempt) {
    uint32_t index = static_cast<uint32_t>(seed + attempt * 7919) % 16384;
    uint32_t base = index * 4;
    std::string host =
        "10.254." + std::to_string(base >> 8) + "." + std::to_string((base & 255) + 1);
    if (addresses.find(" " + host + "/") == std::string::npos) return index;
  }
  return makeError(ErrorCode::kUnavailable, "no free /30 left in 10.254.0.0/16");
}

}  // namespace

Status runCommand(const std::vector<std::string>& argv) { return run(argv, nullptr); }

Result<std::unique_ptr<NetnsLink>> NetnsLink::create() {
  if (geteuid() != 0) return makeError(ErrorCode::kUnavailable, "network namespaces need root");
  std::unique_ptr<NetnsLink> link(new NetnsLink());
  int n = nextLink++;
  pid_t self = getpid();
  char hex[16];
  std::snprintf(hex, sizeof(hex), "%x", static_cast<unsigned>(self));
  link->name_ = std::string(kPrefix) + "-" + std::to_string(self) + "-" + std::to_string(n);
  std::string base = std::string(kPrefix) + hex + std::to_string(n);  // <= 13 chars
  link->hostIf_ = base + "h";
  link->nsIf_ = base + "n";
  auto subnet = pickSubnet(static_cast<int>(self) * 31 + n);
  if (!subnet) return makeError(subnet.error());
  uint32_t first = *subnet * 4;
  std::string net = "10.254." + std::to_string(first >> 8) + ".";
  link->hostAddress_ = net + std::to_string((first & 255) + 1);
  link->nsAddress_ = net + std::to_string((first & 255) + 2);

  if (Status s = runCommand({"ip", "netns", "add", link->name_}); !s) return makeError(s.error());
  link->namespaceCreated_ = true;
  std::string nsPath = std::string(kNetnsDir) + "/" + link->name_;
  link->nsFd_ = open(nsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (link->nsFd_ < 0) {
    return makeError(ErrorCode::kUnavailable, "open " + nsPath + ": " + std::strerror(errno));
  }
  if (Status s = runCommand({"ip", "link", "add", link->hostIf_, "type", "veth", "peer", "name",
                             link->nsIf_, "netns", link->name_});
      !s) {
    return makeError(s.error());
  }
  link->vethCreated_ = true;
  std::string cidr = "/" + link->prefixLength_;
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "addr", "add", link->hostAddress_ + cidr, "dev", link->hostIf_},
           {"ip", "link", "set", link->hostIf_, "up"},
           {"ip", "-n", link->name_, "link", "set", "lo", "up"},
           {"ip", "-n", link->name_, "addr", "add", link->nsAddress_ + cidr, "dev", link->nsIf_},
           {"ip", "-n", link->name_, "link", "set", link->nsIf_, "up"}}) {
    if (Status s = runCommand(argv); !s) return makeError(s.error());
  }
  return link;
}

NetnsLink::~NetnsLink() {
  if (namespaceCreated_) killAllIn(namespacePath());
  if (nsFd_ >= 0) close(nsFd_);
  // Deleting one end removes both.
  if (vethCreated_) (void)runCommand({"ip", "link", "del", hostIf_});
  if (namespaceCreated_) (void)runCommand({"ip", "netns", "del", name_});
}

Status NetnsLink::setUp(bool up) {
  return runCommand({"ip", "link", "set", hostIf_, up ? "up" : "down"});
}

std::string NetnsLink::namespacePath() const { return std::string(kNetnsDir) + "/" + name_; }

Status NetnsLink::routeTo(const std::string& address) const {
  return runCommand({"ip", "-n", name_, "route", "add", address + "/32", "via", hostAddress_});
}

Result<pid_t> NetnsLink::spawn(SpawnOptions options) const {
  options.netnsFd = nsFd_;
  return agora::spawn(options);
}

std::vector<pid_t> NetnsLink::pids() const { return pidsIn(namespacePath()); }

void NetnsLink::removeStale() {
  DIR* dir = opendir(kNetnsDir);
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  std::string prefix = std::string(kPrefix) + "-";
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name.rfind(prefix, 0) != 0) continue;
    long owner = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (owner > 0 && kill(static_cast<pid_t>(owner), 0) != 0 && errno == ESRCH) {
      stale.push_back(name);
    }
  }
  closedir(dir);
  for (const std::string& name : stale) {
    killAllIn(std::string(kNetnsDir) + "/" + name);
    (void)runCommand({"ip", "netns", "del", name});
  }
}

}  // namespace agora::testing
