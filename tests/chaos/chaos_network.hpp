#pragma once
// The chaos test's network: a bridge in the host namespace holding
// 10.254.S.1/24 (S in 128..254, from the /17 the project's tests own), and per
// agent a network namespace joined to the bridge by a veth pair, with
// 10.254.S.(10+i). Masters and ZooKeeper listen on the bridge address; an
// agent is cut off by setting its veth's host end down. Everything is
// removed on destruction (also after a failed run), and stale leftovers of an
// earlier run with the same S are removed on creation.

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::chaos {

class ChaosNetwork {
 public:
  // REQUIRES: root. `subnet` in [128, 254].
  static Result<std::unique_ptr<ChaosNetwork>> create(int subnet, int agents);
  ~ChaosNetwork();
  ChaosNetwork(const ChaosNetwork&) = delete;
  ChaosNetwork& operator=(const ChaosNetwork&) = delete;

  std::string hostAddress() const;
  std::string agentAddress(int agent) const;
  // For nsenter --net=PATH.
  std::string namespacePath(int agent) const { return "/var/run/netns/" + namespaceName(agent); }
  Status cut(int agent);
  Status heal(int agent);

 private:
  ChaosNetwork(int subnet, int agents) : subnet_(subnet), agents_(agents) {}
  std::string bridgeName() const;
  std::string namespaceName(int agent) const;
  std::string hostLink(int agent) const;
  std::string innerLink(int agent) const;
  Status setUp();
  void tearDown();

  int subnet_;
  int agents_;
};

// Runs argv to completion; an error with its stderr unless it exits 0.
Status runTool(const std::vector<std::string>& argv);

}  // namespace agora::chaos
