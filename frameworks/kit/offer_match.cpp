#include "frameworks/kit/offer_match.hpp"

#include <algorithm>
#include <cctype>

namespace agora::kit {

namespace {

// `name`'s ranges of `wanted` as one resource set (unreserved).
Resources rangesOf(const Resources& wanted, const std::string& name) {
  Resources out;
  for (const Range& range : wanted.ranges(name)) (void)out.addRange(name, range);
  return out;
}

}  // namespace

std::optional<Resources> fitToOffer(const Resources& offered, const Resources& wanted) {
  if (wanted.hasReservations()) {
    return offered.contains(wanted) ? std::optional<Resources>(wanted) : std::nullopt;
  }
  Resources pool = offered - offered.volumes();
  std::vector<std::pair<Reservation, Resources>> reserved = pool.byReservation();
  Resources out;
  for (const std::string& name : wanted.scalarNames()) {
    double need = wanted.scalar(name);
    for (const auto& [reservation, part] : reserved) {
      double take = std::min(need, part.scalar(name));
      if (take <= 0) continue;
      Resources piece;
      if (!piece.setScalar(name, take)) return std::nullopt;
      out += piece.reservedAs(reservation);
      need -= take;
    }
    if (need > 0) {
      Resources piece;
      if (!piece.setScalar(name, need)) return std::nullopt;
      out += piece;
    }
  }
  for (const std::string& name : wanted.rangeNames()) {
    Resources ranges = rangesOf(wanted, name);
    bool placed = false;
    for (const auto& [reservation, part] : reserved) {
      if (part.contains(ranges.reservedAs(reservation))) {
        out += ranges.reservedAs(reservation);
        placed = true;
        break;
      }
    }
    if (!placed) out += ranges;
  }
  // Rounding, or ranges split across pools: only what the offer holds.
  if (!pool.contains(out)) return std::nullopt;
  return out;
}

std::string portVariable(const std::string& name) {
  std::string out = "PORT_";
  for (char c : name) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<NamedPorts> takeNamedPorts(const Resources& offered,
                                         const std::vector<std::string>& names) {
  std::vector<uint64_t> free;
  for (const Range& range : offered.unreserved().ranges("ports")) {
    for (uint64_t p = range.begin; p <= range.end && free.size() < names.size(); ++p) {
      free.push_back(p);
    }
  }
  if (free.size() < names.size()) return std::nullopt;
  NamedPorts out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!out.resources.addRange("ports", Range{free[i], free[i]})) return std::nullopt;
    out.environment.emplace_back(portVariable(names[i]), std::to_string(free[i]));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    out.environment.emplace_back("PORT" + std::to_string(i), std::to_string(free[i]));
  }
  return out;
}

}  // namespace agora::kit
