#pragma once
// The one duration syntax of every flag, in the CLI and the daemons alike:
// "600s", "10m", "1h30m", "500ms", "2d", or a bare number of seconds ("1.5").
// Units: ms, s, m, h, d; parts in any order, each a decimal number without a sign.

#include <boost/any.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace agora {

// At most kMaxDuration (a century). kInvalidArgument "'X' is not a duration
// (...)" for anything else (negative, no number, unknown unit, too long,
// spaces).
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 36525);
Result<Duration> parseDuration(std::string_view text);

// The shortest form parseDuration reads back: "0s", "1h30m", "2.5s",
// "500ms". Rounded to whole milliseconds; negative values print as "0s".
std::string formatDuration(Duration duration);
// A number of seconds as messages print it: "600", "0.5", "1e+06" (%g).
std::string secondsText(double seconds);

// A duration-valued Boost.Program_options flag:
//   po::value<DurationFlag>(&flag)->default_value(DurationFlag{10min}, "10m")
// A bad value is a po::validation_error naming the flag and the syntax.
struct DurationFlag {
  Duration value{};
};
std::ostream& operator<<(std::ostream& out, const DurationFlag& flag);
// Found by Boost.Program_options through argument-dependent lookup.
void validate(boost::any& value, const std::vector<std::string>& values, DurationFlag*, int);

}  // namespace agora
