#pragma once
// How an executor names itself on its agent's socket: the ZeroMQ routing
// identity "CONTAINER_ID:SECRET", the secret being the container's
// LaunchSpec.secret (schemas/executor.capnp). Anyone can connect a socket
// with any identity; only the container's own executor knows its secret.

#include <string>
#include <string_view>

namespace agora::agent {

// 16 bytes from the kernel's CSPRNG (getrandom), as 32 hex digits.
std::string newExecutorSecret();

// An empty secret (a container launched without one) gives the bare
// container ID.
std::string executorIdentity(const std::string& containerId, const std::string& secret);

struct ExecutorPeer {
  std::string containerId;
  std::string secret;  // empty when the identity carries none
};
// Splits at the last ':' (secrets are hex).
ExecutorPeer parseExecutorIdentity(std::string_view identity);

// Compares in time independent of where the two differ.
bool sameSecret(std::string_view a, std::string_view b);

}  // namespace agora::agent
