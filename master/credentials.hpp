#pragma once
// The master's CurveZMQ credentials: its key pair (--curve-key) and the
// public keys allowed to connect (--credentials DIR): DIR/agents/NAME.pub
// become principal "agent:NAME", DIR/frameworks/NAME.pub "framework:NAME".
// Masters of one HA set share the key pair, so agents and schedulers pin one
// key whichever master leads.

#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/zmq_transport.hpp"

namespace agora::master {

// Nothing when neither is given (plain links); an error naming the flag when
// only one is, or a file is unreadable or malformed, or no key is allowed.
Result<std::optional<CurveServerKeys>> loadCurveCredentials(const std::string& keyFile,
                                                            const std::string& credentialsDir);

}  // namespace agora::master
