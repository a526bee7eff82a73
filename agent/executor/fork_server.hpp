#pragma once
// The executor fork server: `agora-executor --fork-server` runs once per
// agent and starts each container's executor as a copy of itself instead
// of the agent exec'ing a new agora-executor per container. An exec costs
// a launch about 2.5 ms (mapping the binary, dynamic linking of libzmq's
// dependencies, static initialisers such as glog's user lookup); a copy of
// a small, idle, single-threaded process costs a fraction of a millisecond.
//
// The copy is made with clone3(CLONE_PARENT): it is the agent's child, as
// an exec'd executor is, so the agent reaps it and knows its exit status,
// and the server's death affects no running executor. Like fork(), the
// clone sets the copy's thread ID in its thread control block
// (CLONE_CHILD_SETTID at the address the kernel was given by glibc, read
// back with PR_GET_TID_ADDRESS), which glibc uses for mutex ownership.
//
// Protocol (schemas/executor.capnp ForkRequest / ForkReply): the agent
// sends one ForkRequest per executor on a SOCK_SEQPACKET socket, with at
// most one descriptor for the copy (SCM_RIGHTS), and waits for its
// ForkReply; the server says `ready` once when it is up and exits when the
// agent closes its end.

#include <optional>
#include <string>

namespace agora::agent {

// The server's end of the socket, as the agent passes it.
constexpr int kForkServerFd = 3;
// Where a copy finds the descriptor that came with its request (SCM_RIGHTS):
// the agent's start socket for it (start_link.hpp).
constexpr int kStartFd = 3;
// Set by the agent in the server's environment (every symbol bound at its
// start) and removed by the server before it serves.
constexpr const char* kForkServerBindNow = "LD_BIND_NOW";

// Server side. Serves requests on `fd` until the agent closes its end
// (returns nullopt: the server exits) or returns in a started child with
// the launch file it is to run (the caller runs the executor and exits
// with its code). REQUIRES: single-threaded caller.
struct ForkedExecutor {
  std::string launchFile;
  int startFd = -1;  // the start socket passed with the request (kStartFd), or -1
};
std::optional<ForkedExecutor> serveForks(int fd);

// Whether this build and kernel can run a fork server (clone3 with
// CLONE_PARENT, PR_GET_TID_ADDRESS; not under AddressSanitizer, which
// cannot follow a raw clone).
bool forkServerSupported();

}  // namespace agora::agent
