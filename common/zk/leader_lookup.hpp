#pragma once
// One-shot leader lookup for tools (the CLI): asks ZooKeeper once who leads.

#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/zk/election.hpp"

namespace agora::zk {

// Blocks the calling thread (on an event loop of its own) until the leader of
// zkUrl's election is known. kInvalidArgument for a bad URL; kUnavailable
// when ZooKeeper cannot be reached or no master leads within `timeout`.
Result<MasterInfo> lookupLeader(const std::string& zkUrl, Duration timeout);

}  // namespace agora::zk
