#pragma once
// The registry's layout in ZooKeeper (schemas/registry.capnp, RegistryMeta and
// RegistryZnode): where each record lives, what its znode holds, and how a
// write becomes one fenced multi-op. Pure logic; zk_registry.hpp does the I/O.

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/zk/zk_session.hpp"
#include "master/registry/records.hpp"

namespace agora::master::znodes {

// ZooKeeper refuses a request larger than jute.maxbuffer (1 MiB less one
// byte by default); stay clear of it for one record and for one multi.
inline constexpr size_t kMaxRequestBytes = 1000 * 1000;

struct KindDir {
  std::string_view kind;  // records.hpp's k*Kind
  std::string_view dir;   // "agents"
};
// Every kind the registry keeps, with its directory under ROOT.
const std::vector<KindDir>& kindDirs();

// Any key as a znode name: bytes outside [A-Za-z0-9_-] and '.' at the start
// become %XX ('.' and '..' are not valid names; neither is '/').
std::string escapeKey(std::string_view key);
// kInvalidArgument for a name escapeKey() cannot have produced.
Result<std::string> unescapeKey(std::string_view name);

// ROOT/<dir>/<escaped key>; kInvalidArgument for a kind with no directory.
Result<std::string> recordPath(const std::string& root, std::string_view kind,
                               std::string_view key);

// A RegistryZnode: the record bytes with their CRC-32C.
std::string encodeZnode(std::string_view kind, std::string_view key, std::string_view bytes);
// Checks and decodes one record znode into `contents`; errors say what is
// wrong (not a RegistryZnode, checksum, undecodable record) without the path.
Status decodeZnode(std::string_view kind, const std::string& key, std::string_view data,
                   RegistryContents& contents);

std::string encodeMeta();
// kProtocol unless `data` is a RegistryMeta of this master's format version.
Status checkMeta(std::string_view data);

// The multi-op for one write: a check that `fence` (the leader's own
// election znode) still exists, then a create, set or delete per mutation,
// chosen by `existing` (the record znodes present), which is updated. Errors
// (and `existing` unchanged) for an unknown kind or a request over the limit.
Result<std::vector<zk::ZkSession::Op>> planWrite(const std::string& root, const std::string& fence,
                                                 const std::vector<Mutation>& mutations,
                                                 std::set<std::string>& existing);

}  // namespace agora::master::znodes
