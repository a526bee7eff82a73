#pragma once
// The agent's side of the executor fork server (agent/executor/fork_server.hpp):
// starts `agora-executor --fork-server` on first use and asks it for each
// executor. When the server cannot be used (it died, does not answer, or
// this build or kernel cannot run one) launch() says kUnavailable and the
// caller execs the executor itself; a server that failed is started again
// on a later launch, after a pause.
//
// Thread: the agent's loop thread. launch() blocks until the executor has
// started (as an exec'd launch blocks until its exec).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "agent/executor/child_reaper.hpp"
#include "agent/executor/process_launcher.hpp"
#include "common/result.hpp"

namespace agora::agent {

class ExecutorForkServer {
 public:
  // REQUIRES: reaper outlives this.
  ExecutorForkServer(ChildReaper& reaper, std::string executorPath);
  // Stops the server; executors it started run on (they are not its children).
  ~ExecutorForkServer();
  ExecutorForkServer(const ExecutorForkServer&) = delete;
  ExecutorForkServer& operator=(const ExecutorForkServer&) = delete;

  // Starts `agora-executor --launch-file launchFile` with `process`'s cwd,
  // output (stdoutPath for stdout and stderr) and cgroup joins, in a new
  // session, as our child; the copy gets process.passFd (if >= 0) as
  // kStartFd. An error names the failed step as
  // launchProcess() does; kUnavailable: not started, exec it instead.
  Result<pid_t> launch(const std::string& launchFile, const ProcessOptions& process);

  pid_t serverPid() const { return serverPid_; }
  uint64_t serversStarted() const { return serversStarted_; }

 private:
  struct Reply;
  Status start();
  void stop(const std::string& why);
  Result<Reply> awaitReply(std::chrono::milliseconds timeout);
  // sendmsg() of one request, with passFd (if >= 0) attached.
  ssize_t sendRequest(const std::string& bytes, int passFd);

  ChildReaper& reaper_;
  std::string executorPath_;
  int fd_ = -1;
  pid_t serverPid_ = -1;
  uint64_t serversStarted_ = 0;
  bool unsupported_ = false;
  std::chrono::steady_clock::time_point pausedUntil_{};
};

}  // namespace agora::agent
