// agora-hello: runs N tasks on an Agora cluster and exits 0 when all finished.
#include <iostream>

#include "common/flags.hpp"
#include "common/logging.hpp"
#include "frameworks/examples/hello/hello_scheduler.hpp"
#include "frameworks/sdk/client_credentials.hpp"
#include "frameworks/sdk/master_probe.hpp"

int main(int argc, char** argv) {
  using namespace agora;
  po::options_description options("Options");
  options.add_options()("master", po::value<std::string>()->default_value("127.0.0.1:5055"),
                        "the master: its scheduler endpoint (HOST:PORT or tcp://HOST:PORT) or "
                        "its HTTP API (HOST:PORT or http://HOST:PORT, which names the "
                        "scheduler endpoint), or zk://HOST:PORT/PATH")(
      "tasks", po::value<int>()->default_value(3), "how many tasks to run")(
      "cmd", po::value<std::string>()->default_value("echo hello from $AGORA_TASK_ID"),
      "shell command each task runs")(
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

  // Said at once when nothing (or not a master) listens there, instead of
  // subscribing in silence until someone gives up.
  auto curve = sdk::useClientConfig(vm["config"].as<std::string>());
  if (!curve) return std::cerr << "agora-hello: " << curve.error().message << "\n", 2;
  auto endpoint = sdk::resolveMasterEndpoint(vm["master"].as<std::string>());
  if (!endpoint) return std::cerr << "agora-hello: " << endpoint.error().message << "\n", 1;
  sdk::DriverOptions driverOptions;
  driverOptions.masterEndpoint = *endpoint;
  driverOptions.curve = *curve;
  driverOptions.framework.name = "hello";
  driverOptions.framework.user = getenv("USER") ? getenv("USER") : "root";
  hello::HelloScheduler scheduler(tasks, vm["cmd"].as<std::string>());
  auto driver = sdk::SchedulerDriver::create(scheduler, driverOptions);
  if (!driver) return std::cerr << "agora-hello: " << driver.error().message << "\n", 1;
  if (auto status = (*driver)->run(); !status) {
    return std::cerr << "agora-hello: the master refused us: " << status.error().message << "\n", 1;
  }
  std::cout << scheduler.finished() << " finished, " << scheduler.failed() << " failed"
            << std::endl;
  return scheduler.done() && scheduler.failed() == 0 ? 0 : 1;
}
