#pragma once
// ZooKeeper's leader-election recipe, the part that is pure logic: candidate
// znode names, ordering by sequence number, the leader and each candidate's
// predecessor. Also the MasterInfo payload each candidate stores.
//
// Candidates are EPHEMERAL|SEQUENTIAL children of the election path named
// "info_<owner>-<10-digit sequence>"; <owner> (the ZooKeeper session ID in
// hex) lets a candidate find its own node after a connection loss hid the
// answer to its create. Other children are ignored.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace agora::zk {

inline constexpr std::string_view kCandidatePrefix = "info_";

struct MasterInfo {
  std::string id;
  std::string endpoint;     // ZeroMQ endpoint for agents and schedulers
  std::string httpAddress;  // HOST:PORT of the operator API
  std::string hostname;
  std::string version;

  bool operator==(const MasterInfo&) const = default;
};

// schemas/leader.capnp, packed.
std::string encodeMasterInfo(const MasterInfo& info);
Result<MasterInfo> decodeMasterInfo(std::string_view bytes);

// "info_<owner>-" : what a candidate passes to create() (ZooKeeper appends the sequence).
std::string candidatePrefix(const std::string& owner);
// The sequence number of a candidate name; nullopt for other names.
std::optional<uint64_t> candidateSequence(std::string_view name);
// The candidate with the lowest sequence number, or nullopt when there is none.
std::optional<std::string> leaderOf(const std::vector<std::string>& children);
// The candidate just below `own` in sequence order: the one node `own` watches.
// nullopt when `own` leads (or is not a candidate).
std::optional<std::string> predecessorOf(const std::vector<std::string>& children,
                                         const std::string& own);
// A candidate created by `owner`, if any (the latest when several).
std::optional<std::string> ownedBy(const std::vector<std::string>& children,
                                   const std::string& owner);

}  // namespace agora::zk
