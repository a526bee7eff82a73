#pragma once
// A daemon started by `agora dev`: spawned in its own session (a terminal's
// Ctrl-C reaches only `agora dev`, which stops children in order), killed if
// agora dev dies, reaped here.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/subprocess.hpp"

namespace agora::cli {

class ChildProcess {
 public:
  // options.newSession and options.dieWithParent are forced on.
  static Result<std::unique_ptr<ChildProcess>> start(std::string name, SpawnOptions options);
  ~ChildProcess();  // SIGKILLs and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  // Reaps without blocking; the wait status once it has exited.
  std::optional<int> poll();
  // SIGTERM, then SIGKILL after `grace`; returns the wait status.
  int stop(std::chrono::milliseconds grace);

 private:
  ChildProcess(std::string name, pid_t pid) : name_(std::move(name)), pid_(pid) {}
  std::string name_;
  pid_t pid_;
  std::optional<int> status_;
};

}  // namespace agora::cli
