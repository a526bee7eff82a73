// The text and wire forms of Resources (resources.hpp): parse() and
// toString(), fromCapnp() and toCapnp(). The arithmetic is in resources.cpp.

#include <charconv>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "common/resources.hpp"
#include "common/resources_detail.hpp"
#include "common/role_name.hpp"

namespace agora {

using resources_detail::checkRange;
using resources_detail::checkScalar;
using resources_detail::fromFixed;
using resources_detail::rankedNames;
using resources_detail::toFixed;

namespace {

std::string formatScalar(int64_t fixed) {
  std::string out = std::to_string(fixed / 1000);
  int64_t frac = fixed % 1000;
  if (frac != 0) {
    std::string digits = std::to_string(1000 + frac).substr(1);
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<uint64_t> parseUint(std::string_view s) {
  s = trim(s);
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "not a number: '" + std::string(s) + "'");
  }
  return value;
}

Result<std::vector<Range>> parseRanges(std::string_view text) {
  // "[31000-32000,33000-33010]"
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    return makeError(ErrorCode::kInvalidArgument, "ranges must look like [B-E,...]");
  }
  std::vector<Range> ranges;
  std::string_view body = text.substr(1, text.size() - 2);
  while (!trim(body).empty()) {
    size_t comma = body.find(',');
    std::string_view item = trim(body.substr(0, comma));
    size_t dash = item.find('-');
    auto begin = parseUint(item.substr(0, dash));
    if (!begin) return makeError(begin.error());
    auto end = dash == std::string_view::npos ? begin : parseUint(item.substr(dash + 1));
    if (!end) return makeError(end.error());
    if (*end < *begin) {
      return makeError(ErrorCode::kInvalidArgument, "range end before begin: " + std::string(item));
    }
    ranges.push_back(Range{*begin, *end});
    if (comma == std::string_view::npos) break;
    body.remove_prefix(comma + 1);
  }
  return ranges;
}

// "eng", "eng,dynamic", "eng,dynamic:ops", "*" (nullopt: unreserved).
Result<std::optional<Reservation>> parseReservation(std::string_view text) {
  text = trim(text);
  size_t comma = text.find(',');
  std::string role(trim(text.substr(0, comma)));
  if (role == "*" && comma == std::string_view::npos) return std::optional<Reservation>();
  if (auto valid = validateRoleName(role); !valid) return makeError(valid.error());
  if (role == "*") {
    return makeError(ErrorCode::kInvalidArgument, "the unreserved role '*' takes no type");
  }
  Reservation reservation{role, ReservationType::kStatic, ""};
  if (comma != std::string_view::npos) {
    std::string_view type = trim(text.substr(comma + 1));
    size_t colon = type.find(':');
    std::string_view kind = trim(type.substr(0, colon));
    if (kind == "dynamic") {
      reservation.type = ReservationType::kDynamic;
      if (colon != std::string_view::npos) reservation.principal = trim(type.substr(colon + 1));
    } else if (kind != "static" || colon != std::string_view::npos) {
      return makeError(ErrorCode::kInvalidArgument,
                       "reservation type must be 'static' or 'dynamic[:PRINCIPAL]', got '" +
                           std::string(type) + "'");
    }
  }
  return std::optional<Reservation>(std::move(reservation));
}

Result<double> parseScalarValue(const std::string& name, std::string_view value) {
  std::string copy(value);
  char* end = nullptr;
  double number = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "resource '" + name + "': not a number: '" + copy + "'");
  }
  return number;
}

// The persistence of a resource: nullopt for plain resources (no disk info,
// or an empty persistence id).
Result<std::optional<DiskPersistence>> volumeOf(schema::Resource::Reader in) {
  if (!in.hasDisk() || !in.getDisk().hasPersistence()) return std::optional<DiskPersistence>();
  auto disk = in.getDisk();
  DiskPersistence out{disk.getPersistence().getId(), disk.getPersistence().getPrincipal(),
                      disk.getContainerPath(), disk.getMode() == schema::VolumeMode::RO};
  if (out.id.empty()) return std::optional<DiskPersistence>();
  if (auto ok = validatePersistenceId(out.id); !ok) return makeError(ok.error());
  return std::optional<DiskPersistence>(std::move(out));
}

void writeVolume(const DiskPersistence& volume, schema::DiskInfo::Builder out) {
  auto persistence = out.initPersistence();
  persistence.setId(volume.id);
  if (!volume.principal.empty()) persistence.setPrincipal(volume.principal);
  out.setContainerPath(volume.containerPath);
  out.setMode(volume.readOnly ? schema::VolumeMode::RO : schema::VolumeMode::RW);
}

}  // namespace

std::string Reservation::toString() const {
  if (type == ReservationType::kStatic) return role;
  return role + ",dynamic" + (principal.empty() ? "" : ":" + principal);
}

Result<Resources> Resources::parse(std::string_view text) {
  Resources out;
  while (!trim(text).empty()) {
    size_t semi = text.find(';');
    std::string_view item = trim(text.substr(0, semi));
    if (!item.empty()) {
      size_t colon = item.find(':');
      size_t paren = item.find('(');
      std::optional<Reservation> reservation;
      std::string name;
      if (paren != std::string_view::npos && paren < colon) {
        size_t close = item.find(')', paren);
        if (close == std::string_view::npos || close + 1 >= item.size() || item[close + 1] != ':') {
          return makeError(ErrorCode::kInvalidArgument,
                           "resource '" + std::string(item) + "' must be NAME(ROLE):VALUE");
        }
        name = std::string(trim(item.substr(0, paren)));
        auto parsed = parseReservation(item.substr(paren + 1, close - paren - 1));
        if (!parsed) return makeError(parsed.error().withContext("resource '" + name + "'"));
        reservation = std::move(*parsed);
        colon = close + 1;
      } else if (colon == std::string_view::npos) {
        return makeError(ErrorCode::kInvalidArgument,
                         "resource '" + std::string(item) + "' must be NAME:VALUE");
      } else {
        name = std::string(trim(item.substr(0, colon)));
      }
      std::string_view value = trim(item.substr(colon + 1));
      std::optional<PoolKey> key;
      if (reservation) key = PoolKey{std::move(*reservation), std::nullopt};
      Pool& pool = out.pool(key ? &*key : nullptr);
      if (!value.empty() && value.front() == '[') {
        auto ranges = parseRanges(value);
        if (!ranges) return makeError(ranges.error().withContext("resource '" + name + "'"));
        for (const Range& r : *ranges) {
          if (auto st = checkRange(name, r); !st) return makeError(st.error());
          pool.ranges[name].push_back(r);
        }
        pool.ranges[name] = coalesce(std::move(pool.ranges[name]));
        if (pool.ranges[name].empty()) pool.ranges.erase(name);
      } else {
        auto number = parseScalarValue(name, value);
        if (!number) return makeError(number.error());
        if (pool.scalars.count(name)) {
          return makeError(ErrorCode::kInvalidArgument, "resource '" + name + "' given twice");
        }
        if (auto st = checkScalar(name, *number); !st) return makeError(st.error());
        if (toFixed(*number) != 0) pool.scalars[name] = toFixed(*number);
      }
    }
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  out.dropEmptyPools();
  return out;
}

Status Resources::addEntry(Pool& pool, const std::string& name, schema::Resource::Reader in) {
  if (in.isScalar()) {
    if (pool.scalars.count(name)) {
      return makeError(ErrorCode::kInvalidArgument, "resource '" + name + "' given twice");
    }
    if (auto st = checkScalar(name, in.getScalar()); !st) return st;
    if (toFixed(in.getScalar()) != 0) pool.scalars[name] = toFixed(in.getScalar());
    return {};
  }
  std::vector<Range> list;
  for (auto range : in.getRanges()) {
    Range r{range.getBegin(), range.getEnd()};
    if (auto st = checkRange(name, r); !st) return st;
    list.push_back(r);
  }
  if (list.empty()) return {};
  auto& mine = pool.ranges[name];
  mine.insert(mine.end(), list.begin(), list.end());
  mine = coalesce(std::move(mine));
  return {};
}

Result<Resources> Resources::fromCapnp(capnp::List<schema::Resource>::Reader list) {
  Resources out;
  for (auto resource : list) {
    std::string name = resource.getName();
    std::string role = resource.getRole();
    std::optional<PoolKey> key;
    if (!role.empty() && role != "*") {
      if (auto valid = validateRoleName(role); !valid) {
        return makeError(valid.error().withContext("resource '" + name + "'"));
      }
      bool dynamic = resource.getReservationType() == schema::ReservationType::DYNAMIC;
      key = PoolKey{Reservation{role, dynamic ? ReservationType::kDynamic : ReservationType::kStatic,
                                dynamic ? std::string(resource.getPrincipal()) : ""},
                    std::nullopt};
    }
    auto volume = volumeOf(resource);
    if (!volume) return makeError(volume.error().withContext("resource '" + name + "'"));
    if (*volume) {
      if (!key || name != "disk" || !resource.isScalar()) {
        return makeError(ErrorCode::kInvalidArgument,
                         "resource '" + name + "': only reserved disk can be a persistent volume");
      }
      key->volume = std::move(*volume);
    }
    if (auto st = addEntry(out.pool(key ? &*key : nullptr), name, resource); !st) {
      return makeError(st.error());
    }
  }
  out.dropEmptyPools();
  return out;
}

std::string Resources::toString() const {
  std::ostringstream out;
  bool first = true;
  auto print = [&](const Pool& pool, const std::string& suffix) {
    for (const std::string& name : rankedNames(pool.scalars)) {
      out << (first ? "" : ";") << name << suffix << ":" << formatScalar(pool.scalars.at(name));
      first = false;
    }
    for (const auto& [name, list] : pool.ranges) {
      out << (first ? "" : ";") << name << suffix << ":[";
      for (size_t i = 0; i < list.size(); ++i) {
        out << (i ? "," : "") << list[i].begin << "-" << list[i].end;
      }
      out << "]";
      first = false;
    }
  };
  print(unreserved_, "");
  for (const auto& [key, pool] : reserved_) {
    std::string suffix = "(" + key.reservation.toString() + ")";
    if (key.volume) {
      suffix += "[" + key.volume->id + ":" + key.volume->containerPath +
                (key.volume->readOnly ? ":ro]" : ":rw]");
    }
    print(pool, suffix);
  }
  return out.str();
}

void Resources::toCapnp(capnp::List<schema::Resource>::Builder builder) const {
  unsigned i = 0;
  auto write = [&](const Pool& pool, const PoolKey* key) {
    auto tag = [&](schema::Resource::Builder entry) {
      if (key == nullptr) return;
      const Reservation& reservation = key->reservation;
      entry.setRole(reservation.role);
      entry.setReservationType(reservation.type == ReservationType::kDynamic
                                   ? schema::ReservationType::DYNAMIC
                                   : schema::ReservationType::STATIC);
      if (!reservation.principal.empty()) entry.setPrincipal(reservation.principal);
      if (key->volume) writeVolume(*key->volume, entry.initDisk());
    };
    for (const std::string& name : rankedNames(pool.scalars)) {
      builder[i].setName(name);
      builder[i].setScalar(fromFixed(pool.scalars.at(name)));
      tag(builder[i]);
      ++i;
    }
    for (const auto& [name, list] : pool.ranges) {
      builder[i].setName(name);
      auto out = builder[i].initRanges(static_cast<unsigned>(list.size()));
      for (unsigned j = 0; j < list.size(); ++j) {
        out[j].setBegin(list[j].begin);
        out[j].setEnd(list[j].end);
      }
      tag(builder[i]);
      ++i;
    }
  };
  write(unreserved_, nullptr);
  for (const auto& [key, pool] : reserved_) write(pool, &key);
}

}  // namespace agora
