#include "cli/run_endpoint.hpp"

#include "cli/master_client.hpp"
#include "frameworks/sdk/master_probe.hpp"

namespace agora::cli {

Result<std::string> findSchedulerEndpoint(const GlobalOptions& global) {
  if (global.master.rfind("zk://", 0) == 0 && !global.schedulerEndpointGiven) {
    return schedulerAddress(global);
  }
  if (global.schedulerEndpointGiven) {
    auto endpoint = sdk::resolveMasterEndpoint(global.schedulerEndpoint);
    if (!endpoint) return makeError(endpoint.error().withContext("--scheduler-endpoint"));
    return endpoint;
  }
  // The master knows where it takes schedulers; the default is a guess.
  auto advertised = MasterClient(global.master, std::chrono::seconds(2)).schedulerEndpoint();
  if (advertised) return advertised;
  // A default master without an HTTP API may still take schedulers at the
  // default endpoint (never a guess for a master named elsewhere).
  if (global.master == kDefaultMaster) {
    auto fallback = sdk::probePeer(kDefaultSchedulerEndpoint, seconds(0.5));
    if (fallback && *fallback == sdk::PeerKind::kZeroMq) {
      return std::string(kDefaultSchedulerEndpoint);
    }
  }
  return makeError(advertised.error());
}

}  // namespace agora::cli
