#include "common/resources.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <sstream>

#include "common/role_name.hpp"

namespace agora {

namespace {

int64_t toFixed(double value) { return static_cast<int64_t>(std::llround(value * 1000.0)); }
double fromFixed(int64_t value) { return static_cast<double>(value) / 1000.0; }

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

int nameRank(const std::string& name) {
  static const char* kOrder[] = {"cpus", "gpus", "mem", "disk"};
  for (int i = 0; i < 4; ++i) {
    if (name == kOrder[i]) return i;
  }
  return 4;
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

// Subtracts `cut` from sorted, merged `from`.
std::vector<Range> subtractRanges(const std::vector<Range>& from, const std::vector<Range>& cut) {
  std::vector<Range> out;
  for (Range r : from) {
    std::vector<Range> pieces = {r};
    for (const Range& c : cut) {
      std::vector<Range> next;
      for (const Range& p : pieces) {
        if (c.end < p.begin || c.begin > p.end) {
          next.push_back(p);
          continue;
        }
        if (c.begin > p.begin) next.push_back(Range{p.begin, c.begin - 1});
        if (c.end < p.end) next.push_back(Range{c.end + 1, p.end});
      }
      pieces.swap(next);
    }
    out.insert(out.end(), pieces.begin(), pieces.end());
  }
  return out;
}

bool rangesContain(const std::vector<Range>& have, const std::vector<Range>& want) {
  for (const Range& w : want) {
    bool found = std::any_of(have.begin(), have.end(),
                             [&](const Range& h) { return h.begin <= w.begin && w.end <= h.end; });
    if (!found) return false;
  }
  return true;
}


const std::vector<Range> kNoRanges;

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

Status checkScalar(const std::string& name, double value) {
  if (!isValidResourceName(name)) {
    return makeError(ErrorCode::kInvalidArgument, "invalid resource name '" + name + "'");
  }
  if (!std::isfinite(value) || value < 0 || value > Resources::kMaxScalar) {
    return makeError(ErrorCode::kInvalidArgument,
                     "resource '" + name + "' must be a finite number in [0, 2^40]");
  }
  return {};
}

Status checkRange(const std::string& name, Range range) {
  if (!isValidResourceName(name)) {
    return makeError(ErrorCode::kInvalidArgument, "invalid resource name '" + name + "'");
  }
  if (range.end < range.begin || range.end > 0xffffffffULL) {
    return makeError(ErrorCode::kInvalidArgument, "invalid range for '" + name + "'");
  }
  return {};
}

bool isAncestorOrSelf(const std::string& ancestor, const std::string& role) {
  if (ancestor == role) return true;
  return role.size() > ancestor.size() && role.compare(0, ancestor.size(), ancestor) == 0 &&
         role[ancestor.size()] == '/';
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

bool isValidResourceName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

std::vector<Range> coalesce(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::vector<Range> out;
  for (const Range& r : ranges) {
    if (!out.empty() && (r.begin <= out.back().end || r.begin == out.back().end + 1)) {
      out.back().end = std::max(out.back().end, r.end);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// --- Pool ------------------------------------------------------------------

bool Resources::Pool::contains(const Pool& other) const {
  for (const auto& [name, value] : other.scalars) {
    auto it = scalars.find(name);
    if (it == scalars.end() || it->second < value) return false;
  }
  for (const auto& [name, list] : other.ranges) {
    auto it = ranges.find(name);
    if (!rangesContain(it == ranges.end() ? kNoRanges : it->second, list)) return false;
  }
  return true;
}

void Resources::Pool::add(const Pool& other) {
  for (const auto& [name, value] : other.scalars) scalars[name] += value;
  for (const auto& [name, list] : other.ranges) {
    auto& mine = ranges[name];
    mine.insert(mine.end(), list.begin(), list.end());
    mine = coalesce(std::move(mine));
  }
}

void Resources::Pool::subtract(const Pool& other) {
  for (const auto& [name, value] : other.scalars) {
    auto it = scalars.find(name);
    if (it == scalars.end()) continue;
    it->second -= value;
    if (it->second <= 0) scalars.erase(it);
  }
  for (const auto& [name, list] : other.ranges) {
    auto it = ranges.find(name);
    if (it == ranges.end()) continue;
    it->second = subtractRanges(it->second, list);
    if (it->second.empty()) ranges.erase(it);
  }
}

Resources::Pool& Resources::pool(const PoolKey* key) {
  return key == nullptr ? unreserved_ : reserved_[*key];
}

void Resources::dropEmptyPools() {
  std::erase_if(reserved_, [](const auto& entry) { return entry.second.empty(); });
}

// --- Building --------------------------------------------------------------

Status Resources::setScalar(const std::string& name, double value) {
  if (auto ok = checkScalar(name, value); !ok) return ok;
  int64_t fixed = toFixed(value);
  if (fixed == 0) {
    unreserved_.scalars.erase(name);
  } else {
    unreserved_.scalars[name] = fixed;
  }
  return {};
}

Status Resources::addRange(const std::string& name, Range range) {
  if (auto ok = checkRange(name, range); !ok) return ok;
  auto& list = unreserved_.ranges[name];
  list.push_back(range);
  list = coalesce(std::move(list));
  return {};
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

// --- Reading ---------------------------------------------------------------

unsigned Resources::count() const {
  size_t n = unreserved_.scalars.size() + unreserved_.ranges.size();
  for (const auto& [reservation, pool] : reserved_) n += pool.scalars.size() + pool.ranges.size();
  return static_cast<unsigned>(n);
}

double Resources::unreservedScalar(const std::string& name) const {
  auto it = unreserved_.scalars.find(name);
  return it == unreserved_.scalars.end() ? 0.0 : fromFixed(it->second);
}

double Resources::scalar(const std::string& name) const {
  auto it = unreserved_.scalars.find(name);
  int64_t sum = it == unreserved_.scalars.end() ? 0 : it->second;
  for (const auto& [reservation, pool] : reserved_) {
    auto found = pool.scalars.find(name);
    if (found != pool.scalars.end()) sum += found->second;
  }
  return fromFixed(sum);
}

std::vector<Range> Resources::ranges(const std::string& name) const {
  auto it = unreserved_.ranges.find(name);
  std::vector<Range> out = it == unreserved_.ranges.end() ? kNoRanges : it->second;
  if (reserved_.empty()) return out;
  for (const auto& [reservation, pool] : reserved_) {
    auto found = pool.ranges.find(name);
    if (found != pool.ranges.end()) out.insert(out.end(), found->second.begin(), found->second.end());
  }
  return coalesce(std::move(out));
}

std::vector<std::string> Resources::scalarNames() const {
  std::set<std::string> unique;
  for (const auto& [name, value] : unreserved_.scalars) unique.insert(name);
  for (const auto& [reservation, pool] : reserved_) {
    for (const auto& [name, value] : pool.scalars) unique.insert(name);
  }
  std::vector<std::string> names(unique.begin(), unique.end());
  std::stable_sort(names.begin(), names.end(),
                   [](const std::string& a, const std::string& b) { return nameRank(a) < nameRank(b); });
  return names;
}

std::vector<std::string> Resources::rangeNames() const {
  std::set<std::string> unique;
  for (const auto& [name, value] : unreserved_.ranges) unique.insert(name);
  for (const auto& [reservation, pool] : reserved_) {
    for (const auto& [name, value] : pool.ranges) unique.insert(name);
  }
  return std::vector<std::string>(unique.begin(), unique.end());
}

uint64_t Resources::rangeCount(const std::string& name) const {
  uint64_t n = 0;
  for (const Range& r : ranges(name)) n += r.end - r.begin + 1;
  return n;
}

std::string Resources::toString() const {
  std::ostringstream out;
  bool first = true;
  auto print = [&](const Pool& pool, const std::string& suffix) {
    std::vector<std::string> names;
    for (const auto& [name, value] : pool.scalars) names.push_back(name);
    std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      return nameRank(a) < nameRank(b);
    });
    for (const std::string& name : names) {
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
    std::vector<std::string> names;
    for (const auto& [name, value] : pool.scalars) names.push_back(name);
    std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      return nameRank(a) < nameRank(b);
    });
    for (const std::string& name : names) {
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

// --- Arithmetic ------------------------------------------------------------

bool Resources::contains(const Resources& other) const {
  if (!unreserved_.contains(other.unreserved_)) return false;
  for (const auto& [key, pool] : other.reserved_) {
    auto it = reserved_.find(key);
    if (it == reserved_.end() || !it->second.contains(pool)) return false;
    if (key.volume && !(it->second == pool)) return false;  // a volume is never split
  }
  return true;
}

Resources& Resources::operator+=(const Resources& other) {
  unreserved_.add(other.unreserved_);
  for (const auto& [reservation, pool] : other.reserved_) reserved_[reservation].add(pool);
  return *this;
}

Resources& Resources::operator-=(const Resources& other) {
  unreserved_.subtract(other.unreserved_);
  if (other.reserved_.empty()) return *this;
  for (const auto& [reservation, pool] : other.reserved_) {
    auto it = reserved_.find(reservation);
    if (it != reserved_.end()) it->second.subtract(pool);
  }
  dropEmptyPools();
  return *this;
}

Resources Resources::operator+(const Resources& other) const {
  Resources out = *this;
  out += other;
  return out;
}

Resources Resources::operator-(const Resources& other) const {
  Resources out = *this;
  out -= other;
  return out;
}

// --- Reservations ----------------------------------------------------------

Resources Resources::unreserved() const {
  Resources out;
  out.unreserved_ = unreserved_;
  return out;
}

Resources Resources::reservedPart() const {
  Resources out;
  out.reserved_ = reserved_;
  return out;
}

Resources Resources::reservedFor(const std::string& role) const {
  Resources out;
  for (const auto& [key, pool] : reserved_) {
    if (key.reservation.role == role) out.reserved_.emplace(key, pool);
  }
  return out;
}

Resources Resources::allocatableTo(const std::string& role) const {
  Resources out = unreserved();
  for (const auto& [key, pool] : reserved_) {
    if (isAncestorOrSelf(key.reservation.role, role)) out.reserved_.emplace(key, pool);
  }
  return out;
}

Resources Resources::flatten() const {
  Resources out = unreserved();
  for (const auto& [reservation, pool] : reserved_) out.unreserved_.add(pool);
  return out;
}

Resources Resources::reservedAs(const Reservation& reservation) const {
  Resources out;
  Pool& pool = out.reserved_[PoolKey{reservation, std::nullopt}];
  pool = unreserved_;
  for (const auto& [r, p] : reserved_) pool.add(p);
  out.dropEmptyPools();
  return out;
}

std::set<std::string> Resources::reservationRoles() const {
  std::set<std::string> roles;
  for (const auto& [key, pool] : reserved_) roles.insert(key.reservation.role);
  return roles;
}

std::vector<std::pair<Reservation, Resources>> Resources::byReservation() const {
  std::vector<std::pair<Reservation, Resources>> out;
  for (const auto& [key, pool] : reserved_) {
    if (out.empty() || !(out.back().first == key.reservation)) {
      out.emplace_back(key.reservation, Resources());
    }
    out.back().second.reserved_.emplace(key, pool);
  }
  return out;
}

}  // namespace agora
