#include "master/duration.hpp"

#include <charconv>
#include <cmath>
#include <string>

namespace agora::master {

Result<double> parseDurationSeconds(std::string_view text) {
  auto bad = [&] {
    return makeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) + "' is not a duration (e.g. 30s, 500ms, 2m, 1h)");
  };
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return bad();
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  double scale;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "ms") {
    scale = 0.001;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else {
    return bad();
  }
  double seconds = value * scale;
  if (!std::isfinite(seconds) || seconds < 0) return bad();
  return seconds;
}

}  // namespace agora::master
