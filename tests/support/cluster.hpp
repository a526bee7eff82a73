#pragma once
// Test harness: real agora-master / agora-agent processes on loopback, each
// with free ports and a private work dir under a temp directory that the
// harness removes. Every process it starts is killed and reaped on teardown.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/client_config.hpp"

namespace agora::testing {

// A child process; SIGKILLed and reaped on destruction unless already reaped.
class Child {
 public:
  Child(std::string name, pid_t pid) : name_(std::move(name)), pid_(pid) {}
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);

 private:
  std::string name_;
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

uint16_t freePort();
// SIGKILLs every process whose working directory or command line is under `dir`.
void killProcessesUnder(const std::string& dir);
// Removes the cgroups of the containers whose state lives under `dir`
// (DIR/<agent>/containers/<id> or DIR/<agent>/run/containers/<id>), wherever
// the agent placed them.
void removeContainerCgroups(const std::string& dir);
std::string binPath(const std::string& name);
// Polls `condition` every 20 ms until true or the timeout passes.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(15));

// Security is on as in production and `agora dev`: the master takes only
// CurveZMQ peers whose keys it knows (credentials made under root()/security),
// its and the agents' HTTP APIs need a token for anything but /health, and
// this process's HTTP client sends the operator token (so tests read and
// write the APIs as the operator) and its environment names the client
// configuration (AGORA_CONFIG) for the `agora` tools it starts. A test that brings its own keys
// passes
// --curve-key among the extra flags and the harness adds none.
class Cluster {
 public:
  Cluster();
  ~Cluster();

  // Starts the master with fast liveness settings for tests; `extraFlags`
  // may override them.
  void startMaster(std::vector<std::string> extraFlags = {});
  // Starts an agent; returns its index. Waits until the master lists it.
  // Waits for it to register (throws past 15 s) unless `awaitRegistration` is false.
  int startAgent(const std::string& resources = "cpus:2;mem:1024;disk:1024;ports:[31000-31100]",
                 std::vector<std::string> extraFlags = {}, bool awaitRegistration = true);
  Child& agent(int index) { return *agents_.at(index); }
  // Starts agent `index` again, as before, on its work dir (it recovers
  // there). REQUIRES: the old process has exited.
  void restartAgent(int index);
  // SIGKILLs the master and starts it again on its work dir; true once every
  // started agent is listed REGISTERED by it again.
  bool restartMasterAfterSigkill();
  Child& master() { return *master_; }

  std::string masterHttp() const { return "127.0.0.1:" + std::to_string(masterHttpPort_); }
  std::string masterEndpoint() const { return "tcp://127.0.0.1:" + std::to_string(masterZmqPort_); }
  std::string agentHttp(int index) const {
    return "127.0.0.1:" + std::to_string(agentHttpPorts_.at(index));
  }
  const std::string& root() const { return root_; }

  // GET from the master's API; null JSON on failure.
  nlohmann::json masterGet(const std::string& path) const;
  // The task's entry in /api/v1/tasks, or null.
  nlohmann::json task(const std::string& taskId) const;
  // The cluster's security material (keys, operator token, client configuration).
  const LocalCredentials& credentials() const { return credentials_; }
  // The flags an agent started by hand needs to join: its CurveZMQ keys,
  // the master's public key and the HTTP tokens.
  std::vector<std::string> agentSecurityFlags() const;
  // What a test scheduler subscribes with (DriverOptions::curve).
  std::optional<CurveClientKeys> schedulerKeys() const;
  // A new key pair the master will know as agent NAME (kind "agents") or
  // framework principal NAME ("frameworks"), pinned to its key.
  // REQUIRES: called before startMaster().
  CurveClientKeys makeKnownKeys(const std::string& kind, const std::string& name) const;
  // Makes a raw ZeroMQ socket a known framework's CurveZMQ client, as the
  // SDK's would be (`asAgent`: the agents' key instead); call before connect().
  void secureSocket(zmq::socket_t& socket, bool asAgent = false) const;
  // Runs a command (argv) to completion with stdout captured; returns exit
  // code. It inherits this process's environment (AGORA_CONFIG included)
  // with `env` ("NAME=value") replacing or adding entries.
  int runCommand(const std::vector<std::string>& argv, std::string* out, std::string* err = nullptr,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60),
                 const std::vector<std::string>& env = {});

  // Starts agora-service on this cluster (logs root()/NAME.*): work dir
  // root()/service unless extraFlags give --work-dir, its API on `api`
  // taking the cluster's tokens (this process sends the operator's).
  std::unique_ptr<Child> startService(const std::string& name, const std::string& api,
                                      std::vector<std::string> extraFlags = {});
  // Starts a process in the background (stdout/stderr in root()/NAME.out
  // and NAME.err; it dies with the test).
  std::unique_ptr<Child> startProcess(const std::string& name, std::vector<std::string> argv);

 private:
  std::string root_;
  LocalCredentials credentials_;
  std::unique_ptr<Child> master_;
  std::vector<std::unique_ptr<Child>> agents_;
  uint16_t masterHttpPort_ = 0;
  uint16_t masterZmqPort_ = 0;
  std::vector<uint16_t> agentHttpPorts_;
  std::vector<std::vector<std::string>> agentArgvs_;
};

}  // namespace agora::testing
