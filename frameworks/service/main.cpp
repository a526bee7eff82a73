// agora-service: the container service framework. Long-running apps from
// specs (frameworks/service/app_spec.hpp), kept running on an Agora
// cluster; its API (service_api.hpp) is advertised through the master.
#include <cstdlib>
#include <iostream>

#include "common/duration.hpp"
#include "common/flags.hpp"
#include "common/http_security.hpp"
#include "common/logging.hpp"
#include "frameworks/sdk/client_credentials.hpp"
#include "frameworks/sdk/master_probe.hpp"
#include "frameworks/service/service_api.hpp"

int main(int argc, char** argv) {
  using namespace agora;
  const char* home = getenv("HOME");
  po::options_description options("Options");
  options.add_options()("master", po::value<std::string>()->default_value("127.0.0.1:5055"),
                        "the master: HOST:PORT or tcp://HOST:PORT (scheduler endpoint), "
                        "http://HOST:PORT (its API) or zk://HOST:PORT/PATH")(
      "work-dir",
      po::value<std::string>()->default_value(std::string(home ? home : "/tmp") +
                                              "/.agora/service"),
      "where its state (state.db) is kept")(
      "http", po::value<std::string>()->default_value("127.0.0.1:5060"),
      "HOST:PORT of its API (advertised through the master)")(
      "role", po::value<std::string>()->default_value("*"), "the role its apps run in")(
      "zk", po::value<std::string>()->default_value(""),
      "zk://HOST:PORT/PATH: keep the state in ZooKeeper, one of several instances leads")(
      "zk-session-timeout", po::value<std::string>()->default_value("10s"),
      "with --zk: how long a silent leader keeps its leadership")(
      "config", po::value<std::string>()->default_value(""),
      "client configuration naming the CurveZMQ keys (default: $AGORA_CONFIG, ~/.agora/config)");
  HttpSecurityFlags securityFlags;
  addHttpSecurityFlags(options, securityFlags);
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, "Usage: agora-service [options]", options, vm);
  if (!parsed) return std::cerr << "agora-service: " << parsed.error().message << "\n", 2;
  if (!*parsed) return 0;
  initLogging(argv[0], "");
  auto sessionTimeout = parseDuration(vm["zk-session-timeout"].as<std::string>());
  if (!sessionTimeout || *sessionTimeout < millis(500)) {
    std::cerr << "agora-service: --zk-session-timeout: a duration of at least 500ms\n";
    return 2;
  }
  auto curve = sdk::useClientConfig(vm["config"].as<std::string>());
  if (!curve) return std::cerr << "agora-service: " << curve.error().message << "\n", 2;
  auto endpoint = sdk::resolveMasterEndpoint(vm["master"].as<std::string>());
  if (!endpoint) return std::cerr << "agora-service: " << endpoint.error().message << "\n", 1;

  Metrics metrics;
  auto security =
      setUpHttpSecurity(securityFlags, vm["http"].as<std::string>(), metrics, "agora_service");
  if (!security) return std::cerr << "agora-service: " << security.error().message << "\n", 2;

  kit::RuntimeOptions runtimeOptions;
  runtimeOptions.driver.masterEndpoint = *endpoint;
  runtimeOptions.driver.curve = *curve;
  runtimeOptions.driver.framework.name = "agora-service";
  runtimeOptions.driver.framework.user = getenv("USER") ? getenv("USER") : "root";
  runtimeOptions.driver.framework.roles = {vm["role"].as<std::string>()};
  runtimeOptions.driver.framework.failoverTimeoutSec = 7 * 24 * 3600;  // a week
  runtimeOptions.driver.framework.checkpoint = true;
  // Unreachable instances stay the framework's to decide on (unreachable_grace).
  runtimeOptions.driver.framework.capabilities = {"PARTITION_AWARE"};
  runtimeOptions.workDir = vm["work-dir"].as<std::string>();
  runtimeOptions.zk = vm["zk"].as<std::string>();
  runtimeOptions.zkSessionTimeout = *sessionTimeout;
  runtimeOptions.http = vm["http"].as<std::string>();
  runtimeOptions.httpSecurity = &*security;
  service::ServiceFramework framework(RealClock::instance());
  auto runtime = kit::Runtime::create(framework, runtimeOptions);
  if (!runtime) return std::cerr << "agora-service: " << runtime.error().message << "\n", 1;
  service::installServiceApi(**runtime, framework);
  framework.setUsageSource(service::makeAgentUsageSource((*runtime)->loop()));
  if (auto status = (*runtime)->run(); !status) {
    return std::cerr << "agora-service: " << status.error().message << "\n", 1;
  }
  return 0;
}
