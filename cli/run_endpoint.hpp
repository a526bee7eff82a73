#pragma once
// Where `agora run` subscribes, found before the driver starts so that a
// wrong or dead address is reported at once, naming it, instead of after the
// offer timeout.

#include <string>

#include "cli/global_options.hpp"
#include "common/result.hpp"

namespace agora::cli {

// zk:// masters: the zk:// URL. An explicit --scheduler-endpoint: that
// endpoint, checked (its HTTP API address works too). Otherwise the endpoint
// the master's HTTP API advertises; when the default master's API does not
// answer, the default endpoint if a ZeroMQ peer listens there. Errors (within about a second when
// connections are refused) say what was tried and what was expected.
Result<std::string> findSchedulerEndpoint(const GlobalOptions& global);

}  // namespace agora::cli
