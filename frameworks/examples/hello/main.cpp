// agora-hello: runs N tasks on an Agora cluster and exits 0 when all finished.
// Durable (its state is in --work-dir, or in ZooKeeper with --zk): killed at
// any point and started again, it goes on where it was.
#include <cstdlib>
#include <iostream>

#include "common/duration.hpp"
#include "common/flags.hpp"
#include "common/logging.hpp"
#include "frameworks/examples/hello/hello_framework.hpp"
#include "frameworks/sdk/client_credentials.hpp"
#include "frameworks/sdk/master_probe.hpp"

int main(int argc, char** argv) {
  using namespace agora;
  const char* home = getenv("HOME");
  po::options_description options("Options");
  options.add_options()("master", po::value<std::string>()->default_value("127.0.0.1:5055"),
                        "the master: its scheduler endpoint (HOST:PORT or tcp://HOST:PORT) or "
                        "its HTTP API (HOST:PORT or http://HOST:PORT, which names the "
                        "scheduler endpoint), or zk://HOST:PORT/PATH")(
      "tasks", po::value<int>()->default_value(3), "how many tasks to run")(
      "cmd", po::value<std::string>()->default_value("echo hello from $AGORA_TASK_ID"),
      "shell command each task runs")(
      "constraint", po::value<std::vector<std::string>>()->default_value({}, ""),
      "where tasks may go, FIELD:OPERATOR[:VALUE] as Marathon's (hostname:UNIQUE, "
      "rack:MAX_PER:2, zone:LIKE:eu-.*); repeatable")(
      "work-dir",
      po::value<std::string>()->default_value(std::string(home ? home : "/tmp") + "/.agora/hello"),
      "where its state (state.db) is kept")(
      "zk", po::value<std::string>()->default_value(""),
      "zk://HOST:PORT/PATH: keep the state in ZooKeeper and run as one of several instances "
      "(one leads, the others stand by)")(
      "zk-session-timeout", po::value<std::string>()->default_value("10s"),
      "with --zk: how long a silent instance keeps its session and leadership (a standby takes "
      "over about this long after the leader dies)")(
      "http", po::value<std::string>()->default_value(""),
      "HOST:PORT: serve its API there (its tasks, why any wait, events), advertised through "
      "the master")(
      "config", po::value<std::string>()->default_value(""),
      "client configuration naming the CurveZMQ keys (default: $AGORA_CONFIG, ~/.agora/config "
      "or `agora dev`'s)");
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, "Usage: agora-hello [options]", options, vm);
  if (!parsed) return std::cerr << "agora-hello: " << parsed.error().message << "\n", 2;
  if (!*parsed) return 0;
  initLogging(argv[0], "");
  int tasks = vm["tasks"].as<int>();
  if (tasks < 1) return std::cerr << "agora-hello: --tasks must be at least 1\n", 2;
  std::vector<kit::Constraint> constraints;
  for (const std::string& text : vm["constraint"].as<std::vector<std::string>>()) {
    auto constraint = kit::parseConstraintText(text);
    if (!constraint) return std::cerr << "agora-hello: " << constraint.error().message << "\n", 2;
    constraints.push_back(*constraint);
  }

  auto sessionTimeout = parseDuration(vm["zk-session-timeout"].as<std::string>());
  if (!sessionTimeout || *sessionTimeout < millis(500)) {
    std::cerr << "agora-hello: --zk-session-timeout: a duration of at least 500ms, like 5s\n";
    return 2;
  }

  // Said at once when nothing (or not a master) listens there, instead of
  // subscribing in silence until someone gives up.
  auto curve = sdk::useClientConfig(vm["config"].as<std::string>());
  if (!curve) return std::cerr << "agora-hello: " << curve.error().message << "\n", 2;
  auto endpoint = sdk::resolveMasterEndpoint(vm["master"].as<std::string>());
  if (!endpoint) return std::cerr << "agora-hello: " << endpoint.error().message << "\n", 1;
  kit::RuntimeOptions runtimeOptions;
  runtimeOptions.driver.masterEndpoint = *endpoint;
  runtimeOptions.driver.curve = *curve;
  runtimeOptions.driver.framework.name = "hello";
  runtimeOptions.driver.framework.user = getenv("USER") ? getenv("USER") : "root";
  runtimeOptions.driver.framework.failoverTimeoutSec = 600;  // a restart fails over
  runtimeOptions.driver.framework.checkpoint = true;
  runtimeOptions.workDir = vm["work-dir"].as<std::string>();
  runtimeOptions.zk = vm["zk"].as<std::string>();
  runtimeOptions.http = vm["http"].as<std::string>();
  runtimeOptions.zkSessionTimeout = *sessionTimeout;
  hello::HelloFramework hello(tasks, vm["cmd"].as<std::string>(), constraints);
  auto runtime = kit::Runtime::create(hello, runtimeOptions);
  if (!runtime) return std::cerr << "agora-hello: " << runtime.error().message << "\n", 1;
  if (auto status = (*runtime)->run(); !status) {
    return std::cerr << "agora-hello: " << status.error().message << "\n", 1;
  }
  std::cout << hello.finished() << " finished, " << hello.failed() << " failed" << std::endl;
  return hello.done() && hello.failed() == 0 ? 0 : 1;
}
