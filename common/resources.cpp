#include "common/resources.hpp"

#include <algorithm>
#include <cmath>

#include "common/resources_detail.hpp"

namespace agora {

namespace resources_detail {

namespace {

int nameRank(const std::string& name) {
  static const char* kOrder[] = {"cpus", "gpus", "mem", "disk"};
  for (int i = 0; i < 4; ++i) {
    if (name == kOrder[i]) return i;
  }
  return 4;
}

}  // namespace

void sortByRank(std::vector<std::string>& names) {
  std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return nameRank(a) < nameRank(b);
  });
}

std::vector<std::string> rankedNames(const std::map<std::string, int64_t>& scalars) {
  std::vector<std::string> names;
  names.reserve(scalars.size());
  for (const auto& [name, value] : scalars) names.push_back(name);
  sortByRank(names);
  return names;
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

}  // namespace resources_detail

using resources_detail::checkRange;
using resources_detail::checkScalar;
using resources_detail::fromFixed;
using resources_detail::toFixed;

namespace {

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

bool isAncestorOrSelf(const std::string& ancestor, const std::string& role) {
  if (ancestor == role) return true;
  return role.size() > ancestor.size() && role.compare(0, ancestor.size(), ancestor) == 0 &&
         role[ancestor.size()] == '/';
}

}  // namespace

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
  resources_detail::sortByRank(names);
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
