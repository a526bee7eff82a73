// Persistent volumes in Resources (resources.hpp): reserved disk with a
// DiskPersistence, each volume its own pool.

#include <algorithm>

#include "common/resources.hpp"

namespace agora {

Status validatePersistenceId(const std::string& id) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "persistence id '" + id + "' " + why);
  };
  if (id.empty()) return bad("is empty");
  if (id.size() > 128) return bad("is longer than 128 characters");
  if (id == "." || id == "..") return bad("must not be '.' or '..'");
  bool allowed = std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
  if (!allowed) return bad("may hold only letters, digits, '_', '-' and '.'");
  return {};
}

Result<Resources> Resources::toVolume(const DiskPersistence& disk) const {
  if (auto ok = validatePersistenceId(disk.id); !ok) return makeError(ok.error());
  bool onlyDisk = unreserved_.empty() && reserved_.size() == 1 &&
                  !reserved_.begin()->first.volume && reserved_.begin()->second.ranges.empty() &&
                  reserved_.begin()->second.scalars.size() == 1 &&
                  reserved_.begin()->second.scalars.count("disk") == 1;
  if (!onlyDisk) {
    return makeError(ErrorCode::kInvalidArgument,
                     "a persistent volume must be disk of one reservation, not '" + toString() +
                         "'");
  }
  Resources out;
  out.reserved_.emplace(PoolKey{reserved_.begin()->first.reservation, disk},
                        reserved_.begin()->second);
  return out;
}

Resources Resources::volumes() const {
  Resources out;
  for (const auto& [key, pool] : reserved_) {
    if (key.volume) out.reserved_.emplace(key, pool);
  }
  return out;
}

Resources Resources::withoutPersistence() const {
  Resources out;
  out.unreserved_ = unreserved_;
  for (const auto& [key, pool] : reserved_) {
    out.reserved_[PoolKey{key.reservation, std::nullopt}].add(pool);
  }
  return out;
}

std::vector<PersistentVolume> Resources::volumeList() const {
  std::vector<PersistentVolume> out;
  for (const auto& [key, pool] : reserved_) {
    if (!key.volume) continue;
    Resources alone;
    alone.reserved_.emplace(key, pool);
    out.push_back(PersistentVolume{key.reservation, *key.volume, std::move(alone)});
  }
  return out;
}

}  // namespace agora
