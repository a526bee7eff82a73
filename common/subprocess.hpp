#pragma once
// Starting child processes with fork+exec: argv, environment, working
// directory, stdout/stderr redirected to files, optionally in a new session.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora {

struct SpawnOptions {
  std::vector<std::string> argv;                  // argv[0] is the executable (PATH searched)
  std::optional<std::vector<std::string>> env;    // "K=V"; unset: inherit
  std::string cwd;                                // empty: inherit
  std::string stdoutPath;                         // empty: inherit; else appended to
  std::string stderrPath;
  bool stdinNull = true;
  bool newSession = false;                        // setsid(): own process group
  bool dieWithParent = false;                     // PR_SET_PDEATHSIG SIGKILL
  // >= 0: the child joins this network namespace (setns) before exec. The
  // descriptor stays the caller's.
  int netnsFd = -1;
};

// Returns the child's pid once exec succeeded; an Error (with the exec errno)
// if it failed. The child inherits descriptors 0-2 only.
Result<pid_t> spawn(const SpawnOptions& options);

// Waits up to `timeout` for our child `pid` to exit (on its pidfd, woken at
// the exit) and reaps it: its wait status, or nullopt while it still runs
// (or is not our child).
std::optional<int> waitForExit(pid_t pid, std::chrono::milliseconds timeout);

// Exit status as a shell reports it: the code, or 128 + signal.
int exitCodeOf(int waitStatus);
// "exited with status 3" / "terminated by signal 9 (Killed)".
std::string describeWaitStatus(int waitStatus);

// Absolute path of this executable's directory (from /proc/self/exe).
std::string selfDirectory();

}  // namespace agora
