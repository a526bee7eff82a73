#pragma once
// fork+exec for containers and tasks, with what common/subprocess.hpp does not
// offer: switching user, joining a new process group, and a parent-side hook
// that runs while the child is stopped just before exec (isolators attach the
// pid to cgroups there, so nothing runs unisolated).

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::agent {

struct UserIds {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
  std::string home;
};

// Looks the user up in the passwd database. kNotFound for an unknown user.
Result<UserIds> resolveUser(const std::string& name);

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is the executable (PATH searched)
  std::vector<std::string> env;   // "K=V", the child's whole environment
  std::string cwd;                // empty: inherit
  std::string stdoutPath;         // empty: inherit; else appended to
  std::string stderrPath;
  bool newSession = false;       // setsid()
  bool newProcessGroup = false;  // setpgid(0, 0) (ignored with newSession)
  std::optional<UserIds> user;   // switch to this user before exec
  // Runs in the parent while the child waits before exec. An error kills the
  // child and fails the launch.
  std::function<Status(pid_t)> beforeExec;
};

// Returns the pid once exec succeeded; an Error naming the failed step
// ("exec /bin/x: No such file or directory") otherwise. The caller reaps.
Result<pid_t> launchProcess(const ProcessOptions& options);

// The current environment as "K=V" strings.
std::vector<std::string> currentEnvironment();

}  // namespace agora::agent
