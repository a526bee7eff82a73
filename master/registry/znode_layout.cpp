#include "master/registry/znode_layout.hpp"

#include <capnp/message.h>

#include "common/codec.hpp"
#include "schemas/registry.capnp.h"

namespace agora::master::znodes {

namespace {

using Op = zk::ZkSession::Op;

bool plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const std::vector<KindDir>& kindDirs() {
  static const std::vector<KindDir> dirs = {
      {kAgentKind, "agents"},         {kFrameworkKind, "frameworks"},
      {kWeightKind, "weights"},       {kQuotaKind, "quotas"},
      {kReservationKind, "reservations"}, {kMaintenanceKind, "maintenance"},
      {kTaskKind, "tasks"}};
  return dirs;
}

std::string escapeKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (plain(c) && !(i == 0 && c == '.')) {
      name.push_back(c);
      continue;
    }
    auto byte = static_cast<unsigned char>(c);
    name += {'%', kHex[byte >> 4], kHex[byte & 0xF]};
  }
  return name;
}

Result<std::string> unescapeKey(std::string_view name) {
  std::string key;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c != '%') {
      if (!plain(c) || (i == 0 && c == '.')) break;
      key.push_back(c);
      continue;
    }
    int high = i + 2 < name.size() ? hexValue(name[i + 1]) : -1;
    int low = high >= 0 ? hexValue(name[i + 2]) : -1;
    if (low < 0) break;
    key.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  if (escapeKey(key) != name) {
    return makeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(name) + "' is not an escaped registry key");
  }
  return key;
}

Result<std::string> recordPath(const std::string& root, std::string_view kind,
                               std::string_view key) {
  for (const KindDir& entry : kindDirs()) {
    if (entry.kind == kind) {
      return root + "/" + std::string(entry.dir) + "/" + escapeKey(key);
    }
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "registry record of unknown kind '" + std::string(kind) + "'");
}

std::string encodeZnode(std::string_view kind, std::string_view key, std::string_view bytes) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::RegistryZnode>();
  root.setCrc32c(recordCrc(kind, key, bytes));
  root.setRecord(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  return encodePacked(message);
}

Status decodeZnode(std::string_view kind, const std::string& key, std::string_view data,
                   RegistryContents& contents) {
  auto decoded = Decoded::parse(data);
  if (!decoded) return makeError(ErrorCode::kProtocol, "not a registry znode");
  std::string bytes;
  uint32_t crc = 0;
  Status read = catchDecode([&] {
    auto root = decoded->root<schema::RegistryZnode>();
    crc = root.getCrc32c();
    auto record = root.getRecord();
    bytes.assign(reinterpret_cast<const char*>(record.begin()), record.size());
  });
  if (!read) return makeError(ErrorCode::kProtocol, "not a registry znode");
  if (recordCrc(kind, key, bytes) != crc) {
    return makeError(ErrorCode::kProtocol, "fails its checksum");
  }
  return decodeRecord(std::string(kind), key, bytes, contents);
}

std::string encodeMeta() {
  capnp::MallocMessageBuilder message;
  message.initRoot<schema::RegistryMeta>().setFormatVersion(schema::REGISTRY_FORMAT_VERSION);
  return encodePacked(message);
}

Status checkMeta(std::string_view data) {
  auto decoded = Decoded::parse(data);
  uint32_t version = 0;
  Status read = decoded ? catchDecode([&] {
    version = decoded->root<schema::RegistryMeta>().getFormatVersion();
  })
                        : Status(makeError(decoded.error()));
  if (!read) return makeError(ErrorCode::kProtocol, "is not a registry (unreadable meta data)");
  if (version != schema::REGISTRY_FORMAT_VERSION) {
    return makeError(ErrorCode::kProtocol,
                     "has format version " + std::to_string(version) +
                         "; this master reads version " +
                         std::to_string(schema::REGISTRY_FORMAT_VERSION));
  }
  return {};
}

Result<std::vector<Op>> planWrite(const std::string& root, const std::string& fence,
                                  const std::vector<Mutation>& mutations,
                                  std::set<std::string>& existing) {
  std::set<std::string> after = existing;
  std::vector<Op> ops;
  ops.push_back(Op{Op::Kind::kCheck, fence, "", -1});
  size_t bytes = fence.size();
  for (const Mutation& mutation : mutations) {
    auto path = recordPath(root, mutation.kind, mutation.key);
    if (!path) return makeError(path.error());
    bool present = after.count(*path) > 0;
    if (!mutation.bytes) {
      if (!present) continue;
      ops.push_back(Op{Op::Kind::kDelete, *path, "", -1});
      after.erase(*path);
    } else {
      std::string data = encodeZnode(mutation.kind, mutation.key, *mutation.bytes);
      ops.push_back(Op{present ? Op::Kind::kSet : Op::Kind::kCreate, *path, std::move(data), -1});
      after.insert(*path);
    }
    bytes += ops.back().path.size() + ops.back().data.size() + 32;
    if (bytes > kMaxRequestBytes) {
      return makeError(ErrorCode::kInvalidArgument,
                       "registry write of " + std::to_string(mutations.size()) +
                           " records exceeds ZooKeeper's request limit of " +
                           std::to_string(kMaxRequestBytes) + " bytes (at " + *path + ")");
    }
  }
  existing = std::move(after);
  return ops;
}

}  // namespace agora::master::znodes
