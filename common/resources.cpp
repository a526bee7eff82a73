#include "common/resources.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

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

Status Resources::setScalar(const std::string& name, double value) {
  if (!isValidResourceName(name)) {
    return makeError(ErrorCode::kInvalidArgument, "invalid resource name '" + name + "'");
  }
  if (!std::isfinite(value) || value < 0 || value > kMaxScalar) {
    return makeError(ErrorCode::kInvalidArgument,
                     "resource '" + name + "' must be a finite number in [0, 2^40]");
  }
  int64_t fixed = toFixed(value);
  if (fixed == 0) {
    scalars_.erase(name);
  } else {
    scalars_[name] = fixed;
  }
  return {};
}

Status Resources::addRange(const std::string& name, Range range) {
  if (!isValidResourceName(name)) {
    return makeError(ErrorCode::kInvalidArgument, "invalid resource name '" + name + "'");
  }
  if (range.end < range.begin || range.end > 0xffffffffULL) {
    return makeError(ErrorCode::kInvalidArgument, "invalid range for '" + name + "'");
  }
  auto& list = ranges_[name];
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
      if (colon == std::string_view::npos) {
        return makeError(ErrorCode::kInvalidArgument,
                         "resource '" + std::string(item) + "' must be NAME:VALUE");
      }
      std::string name(trim(item.substr(0, colon)));
      std::string_view value = trim(item.substr(colon + 1));
      if (!value.empty() && value.front() == '[') {
        auto ranges = parseRanges(value);
        if (!ranges) return makeError(ranges.error().withContext("resource '" + name + "'"));
        for (const Range& r : *ranges) {
          if (auto st = out.addRange(name, r); !st) return makeError(st.error());
        }
      } else {
        std::string copy(value);
        char* end = nullptr;
        double number = std::strtod(copy.c_str(), &end);
        if (copy.empty() || end != copy.c_str() + copy.size()) {
          return makeError(ErrorCode::kInvalidArgument,
                           "resource '" + name + "': not a number: '" + copy + "'");
        }
        if (out.scalars_.count(name)) {
          return makeError(ErrorCode::kInvalidArgument, "resource '" + name + "' given twice");
        }
        if (auto st = out.setScalar(name, number); !st) return makeError(st.error());
      }
    }
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  return out;
}

std::vector<std::string> Resources::scalarNames() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : scalars_) names.push_back(name);
  std::stable_sort(names.begin(), names.end(),
                   [](const std::string& a, const std::string& b) { return nameRank(a) < nameRank(b); });
  return names;
}

std::vector<std::string> Resources::rangeNames() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : ranges_) names.push_back(name);
  return names;
}

uint64_t Resources::rangeCount(const std::string& name) const {
  uint64_t n = 0;
  for (const Range& r : ranges(name)) n += r.end - r.begin + 1;
  return n;
}

std::string Resources::toString() const {
  std::ostringstream out;
  bool first = true;
  for (const std::string& name : scalarNames()) {
    out << (first ? "" : ";") << name << ":" << formatScalar(scalars_.at(name));
    first = false;
  }
  for (const auto& [name, list] : ranges_) {
    out << (first ? "" : ";") << name << ":[";
    for (size_t i = 0; i < list.size(); ++i) {
      out << (i ? "," : "") << list[i].begin << "-" << list[i].end;
    }
    out << "]";
    first = false;
  }
  return out.str();
}

double Resources::scalar(const std::string& name) const {
  auto it = scalars_.find(name);
  return it == scalars_.end() ? 0.0 : fromFixed(it->second);
}

const std::vector<Range>& Resources::ranges(const std::string& name) const {
  static const std::vector<Range> kEmpty;
  auto it = ranges_.find(name);
  return it == ranges_.end() ? kEmpty : it->second;
}

bool Resources::contains(const Resources& other) const {
  for (const auto& [name, value] : other.scalars_) {
    auto it = scalars_.find(name);
    if (it == scalars_.end() || it->second < value) return false;
  }
  for (const auto& [name, list] : other.ranges_) {
    if (!rangesContain(ranges(name), list)) return false;
  }
  return true;
}

Resources& Resources::operator+=(const Resources& other) {
  for (const auto& [name, value] : other.scalars_) scalars_[name] += value;
  for (const auto& [name, list] : other.ranges_) {
    auto& mine = ranges_[name];
    mine.insert(mine.end(), list.begin(), list.end());
    mine = coalesce(std::move(mine));
  }
  return *this;
}

Resources& Resources::operator-=(const Resources& other) {
  for (const auto& [name, value] : other.scalars_) {
    auto it = scalars_.find(name);
    if (it == scalars_.end()) continue;
    it->second -= value;
    if (it->second <= 0) scalars_.erase(it);
  }
  for (const auto& [name, list] : other.ranges_) {
    auto it = ranges_.find(name);
    if (it == ranges_.end()) continue;
    it->second = subtractRanges(it->second, list);
    if (it->second.empty()) ranges_.erase(it);
  }
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

Result<Resources> Resources::fromCapnp(capnp::List<schema::Resource>::Reader list) {
  Resources out;
  for (auto resource : list) {
    std::string name = resource.getName();
    if (resource.isScalar()) {
      if (out.scalars_.count(name)) {
        return makeError(ErrorCode::kInvalidArgument, "resource '" + name + "' given twice");
      }
      if (auto st = out.setScalar(name, resource.getScalar()); !st) return makeError(st.error());
    } else {
      for (auto range : resource.getRanges()) {
        if (auto st = out.addRange(name, Range{range.getBegin(), range.getEnd()}); !st) {
          return makeError(st.error());
        }
      }
    }
  }
  return out;
}

void Resources::toCapnp(capnp::List<schema::Resource>::Builder builder) const {
  unsigned i = 0;
  for (const std::string& name : scalarNames()) {
    builder[i].setName(name);
    builder[i].setScalar(fromFixed(scalars_.at(name)));
    ++i;
  }
  for (const auto& [name, list] : ranges_) {
    builder[i].setName(name);
    auto out = builder[i].initRanges(static_cast<unsigned>(list.size()));
    for (unsigned j = 0; j < list.size(); ++j) {
      out[j].setBegin(list[j].begin);
      out[j].setEnd(list[j].end);
    }
    ++i;
  }
}

}  // namespace agora
