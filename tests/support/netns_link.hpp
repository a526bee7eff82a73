#pragma once
// NetnsLink: a network namespace joined to the host by a veth pair, for tests
// that need a real network they can cut (partitions, chaos). RAII: the
// destructor SIGKILLs every process still inside the namespace, deletes the
// veth pair and the namespace, and is safe after a partial create().
//
// Addresses: each link gets its own /30 from 10.254.0.0/16, used only on
// this pair: hostAddress() (.1, on the host-side veth) and nsAddress() (.2,
// inside). Processes inside reach the host at hostAddress(); a server on the
// host that must be reachable from inside listens on hostAddress(). Nothing
// is routed anywhere else.
//
// Names: namespace "agnl-<pid>-<n>", veths "agnl<hex pid><n>h" / "...n", so
// concurrent test processes do not collide; removeStale() deletes links left
// by test processes that died without cleaning up.
//
// Needs root and iproute2 (`ip`). Thread: any, one thread per object.
//
// Typical use:
//   auto link = NetnsLink::create();             // Result<unique_ptr<NetnsLink>>
//   ASSERT_TRUE(link) << link.error().message;
//   SpawnOptions agent{.argv = {...}};           // e.g. --master tcp://HOST:PORT
//   auto pid = (*link)->spawn(agent);            // runs inside the namespace
//   (*link)->setUp(false);                       // partition
//   (*link)->setUp(true);                        // heal

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/subprocess.hpp"

namespace agora::testing {

class NetnsLink {
 public:
  // Creates the namespace (with lo up), the veth pair, both addresses, and
  // brings both ends up. kUnavailable (naming the failed `ip` command and its
  // message) when not root or iproute2 fails; whatever was created is removed.
  static Result<std::unique_ptr<NetnsLink>> create();
  ~NetnsLink();
  NetnsLink(const NetnsLink&) = delete;
  NetnsLink& operator=(const NetnsLink&) = delete;

  const std::string& name() const { return name_; }  // for `ip netns exec NAME`
  std::string namespacePath() const;                  // for `nsenter --net=PATH`
  const std::string& hostInterface() const { return hostIf_; }
  const std::string& nsInterface() const { return nsIf_; }
  const std::string& hostAddress() const { return hostAddress_; }  // "10.254.X.Y"
  const std::string& nsAddress() const { return nsAddress_; }

  // Link state of the host-side veth: down cuts every packet both ways (the
  // inside end loses its carrier); up restores it. Established TCP
  // connections survive a short cut, as on a real network.
  Status setUp(bool up);
  // Routes `address` (a host address of another link) from inside through
  // this link, so processes here reach servers listening there. Several
  // links can share one server that way: put it on a link that is never cut
  // and route every other link to its hostAddress().
  Status routeTo(const std::string& address) const;
  // Starts a process inside the namespace (setns in the child before exec);
  // options.netnsFd is overridden. The caller owns and reaps the child; the
  // destructor still kills it if it is alive then.
  Result<pid_t> spawn(SpawnOptions options) const;
  // PIDs of every process whose network namespace is this one.
  std::vector<pid_t> pids() const;

  // Deletes namespaces named agnl-<pid>-* whose creating process is gone
  // (their processes are SIGKILLed first). Best effort.
  static void removeStale();

 private:
  NetnsLink() = default;
  Status setUpInside();

  std::string name_, hostIf_, nsIf_, hostAddress_, nsAddress_;
  std::string prefixLength_ = "30";
  int nsFd_ = -1;
  bool namespaceCreated_ = false;
  bool vethCreated_ = false;
};

// Runs argv to completion; an error carries its exit status and stderr.
Status runCommand(const std::vector<std::string>& argv);

}  // namespace agora::testing
