#include "cli/offer_fit.hpp"

#include <algorithm>

namespace agora::cli {

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

}  // namespace agora::cli
