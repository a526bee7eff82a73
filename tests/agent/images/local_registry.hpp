#pragma once
// A real Docker registry for tests: Debian's docker-registry serving on
// 127.0.0.1 (filesystem storage in a directory of the test's), filled by
// skopeo. Killed when the object goes away.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "tests/agent/images/image_builder.hpp"

namespace agora::agent::images::testing {

inline int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Runs a command to completion; its output goes to `log`. Its exit code, -1
// when it could not start.
inline int runToCompletion(const std::vector<std::string>& argv, const std::string& log) {
  SpawnOptions options;
  options.argv = argv;
  options.stdoutPath = options.stderrPath = log;
  options.dieWithParent = true;
  auto pid = spawn(options);
  if (!pid) return -1;
  int status = 0;
  ::waitpid(*pid, &status, 0);
  return exitCodeOf(status);
}

class LocalRegistry {
 public:
  static bool available() {
    return std::filesystem::exists("/usr/bin/docker-registry") &&
           std::filesystem::exists("/usr/bin/skopeo");
  }

  ~LocalRegistry() { stop(); }

  // Serves from `dir` (created); "" once it answers, else what went wrong.
  std::string start(const std::string& dir) {
    dir_ = dir;
    std::filesystem::create_directories(dir + "/data");
    port_ = freeLoopbackPort();
    writeFile(dir + "/config.yml", "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                                   "    rootdirectory: " + dir + "/data\n  delete:\n"
                                   "    enabled: true\nhttp:\n  addr: 127.0.0.1:" +
                                       std::to_string(port_) + "\n");
    SpawnOptions options;
    options.argv = {"docker-registry", "serve", dir + "/config.yml"};
    options.stdoutPath = options.stderrPath = dir + "/log";
    options.newSession = true;
    options.dieWithParent = true;
    auto pid = spawn(options);
    if (!pid) return pid.error().message;
    pid_ = *pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (true) {
      auto r = http::get(url("/v2/"), std::chrono::seconds(1));
      if (r && r->status == 200) return "";
      if (std::chrono::steady_clock::now() > deadline) {
        return "registry not ready: " + readFile(dir + "/log");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string ref(const std::string& name) const {
    return "docker://127.0.0.1:" + std::to_string(port_) + "/" + name;
  }

  // skopeo copies `src` (a skopeo reference) to ref(name); "" or its output.
  std::string push(const std::string& src, const std::string& name, bool all = false) {
    std::vector<std::string> argv = {"skopeo", "--insecure-policy", "copy", "--quiet",
                                     "--dest-tls-verify=false"};
    if (all) argv.push_back("--all");
    argv.push_back(src);
    argv.push_back(ref(name));
    std::string log = dir_ + "/skopeo.log";
    return runToCompletion(argv, log) == 0 ? "" : "skopeo failed: " + readFile(log);
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace agora::agent::images::testing
