#pragma once
// Durations given on the command line: "30s", "500ms", "2m", "1h", or a
// bare number of seconds ("1.5").

#include <string_view>

#include "common/result.hpp"

namespace agora::master {

// Seconds, >= 0. kInvalidArgument for anything else (negative, no number,
// unknown unit, not finite).
Result<double> parseDurationSeconds(std::string_view text);

}  // namespace agora::master
