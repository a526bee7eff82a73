// agora-chaos-framework: the keeper, the batcher or the runner of the chaos test
// (chaos_scheduler.hpp), as a process the test can SIGKILL and restart.
#include <iostream>

#include "common/flags.hpp"
#include "common/logging.hpp"
#include "frameworks/sdk/client_credentials.hpp"
#include "tests/chaos/chaos_scheduler.hpp"

int main(int argc, char** argv) {
  using namespace agora;
  std::string master, journal, mode;
  int slots = 5;
  double failoverTimeout = 120;
  po::options_description options("Options");
  options.add_options()("master", po::value(&master)->required(), "zk://HOST:PORT/PATH")(
      "journal", po::value(&journal)->required(), "append-only journal (replayed on start)")(
      "mode", po::value(&mode)->required(), "keeper, batcher or runner")(
      "slots", po::value(&slots)->default_value(5), "long tasks kept / short tasks at a time")(
      "failover-timeout", po::value(&failoverTimeout)->default_value(120), "seconds");
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, "Usage: agora-chaos-framework [options]", options, vm);
  if (!parsed) return std::cerr << "agora-chaos-framework: " << parsed.error().message << "\n", 2;
  if (!*parsed) return 0;
  if (mode != "keeper" && mode != "batcher" && mode != "runner") {
    return std::cerr << "agora-chaos-framework: --mode: '" << mode
                     << "' is not keeper, batcher or runner\n", 2;
  }
  initLogging(argv[0], "");
  chaos::ChaosSchedulerOptions schedulerOptions;
  schedulerOptions.mode = mode == "keeper"    ? chaos::Mode::kKeeper
                          : mode == "batcher" ? chaos::Mode::kBatcher
                                              : chaos::Mode::kRunner;
  schedulerOptions.slots = slots;
  schedulerOptions.journalPath = journal;
  auto scheduler = chaos::ChaosScheduler::create(schedulerOptions);
  if (!scheduler) return std::cerr << "agora-chaos-framework: " << scheduler.error().message << "\n", 1;

  auto curve = sdk::useClientConfig();  // AGORA_CONFIG, from the harness
  if (!curve) return std::cerr << "agora-chaos-framework: " << curve.error().message << "\n", 2;
  sdk::DriverOptions driverOptions;
  driverOptions.masterEndpoint = master;
  driverOptions.curve = *curve;
  driverOptions.autoAcknowledge = false;
  driverOptions.framework.id = (*scheduler)->frameworkId();
  driverOptions.framework.name = "chaos-" + mode;
  driverOptions.framework.user = "root";
  driverOptions.framework.roles = {"*"};
  driverOptions.framework.failoverTimeoutSec = failoverTimeout;
  driverOptions.framework.checkpoint = true;
  driverOptions.framework.capabilities = {"PARTITION_AWARE"};
  auto driver = sdk::SchedulerDriver::create(**scheduler, driverOptions);
  if (!driver) return std::cerr << "agora-chaos-framework: " << driver.error().message << "\n", 1;
  (*scheduler)->started(**driver);
  if (auto status = (*driver)->run(); !status) {
    return std::cerr << "agora-chaos-framework: " << status.error().message << "\n", 1;
  }
  return 0;
}
