#include "common/duration.hpp"

#include <boost/program_options/value_semantic.hpp>
#include <cmath>
#include <cstdio>
#include <cstdint>

namespace agora {

namespace {

struct Unit {
  std::string_view name;
  double seconds;
};
// "ms" before "m" so that the longest unit name matches.
constexpr Unit kUnits[] = {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};

// Reads "12" or "1.25" at the front of `text`; false if there is no number.
bool readNumber(std::string_view& text, double& value) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  size_t digits = i;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    digits += i - digits - 1;
  }
  if (digits == 0) return false;
  value = std::strtod(std::string(text.substr(0, i)).c_str(), nullptr);
  text.remove_prefix(i);
  return true;
}

}  // namespace

Result<Duration> parseDuration(std::string_view text) {
  auto bad = [&] {
    return makeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) +
                         "' is not a duration (e.g. 600s, 10m, 1h30m, 500ms, or bare seconds)");
  };
  std::string_view rest = text;
  double value = 0;
  if (!readNumber(rest, value)) return bad();
  double total = 0;
  if (rest.empty()) rest = "s";  // bare seconds
  while (true) {
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (rest.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return bad();
    rest.remove_prefix(unit->name.size());
    total += value * unit->seconds;
    if (rest.empty()) break;
    if (!readNumber(rest, value)) return bad();
  }
  if (!std::isfinite(total) || total > toSeconds(kMaxDuration)) return bad();
  return seconds(total);
}

std::string formatDuration(Duration duration) {
  if (!(duration > Duration::zero())) return "0s";
  auto ms = static_cast<int64_t>(std::llround(toSeconds(duration) * 1000));
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  for (auto [name, size] :
       {std::pair{"d", 86400000LL}, std::pair{"h", 3600000LL}, std::pair{"m", 60000LL}}) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  if (ms > 0) {
    std::string secs = std::to_string(ms / 1000);
    if (ms % 1000 != 0) {
      std::string frac = std::to_string(1000 + ms % 1000).substr(1);
      while (frac.back() == '0') frac.pop_back();
      secs += "." + frac;
    }
    out += secs + "s";
  }
  return out;
}

std::string secondsText(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", seconds);
  return text;
}

std::ostream& operator<<(std::ostream& out, const DurationFlag& flag) {
  return out << formatDuration(flag.value);
}

void validate(boost::any& value, const std::vector<std::string>& values, DurationFlag*, int) {
  namespace po = boost::program_options;
  po::validators::check_first_occurrence(value);
  const std::string& text = po::validators::get_single_string(values);
  auto parsed = parseDuration(text);
  if (!parsed) {
    // Boost fills in %canonical_option% with the flag's name.
    throw po::error_with_option_name("'" + text +
                                     "' is not a duration for %canonical_option% (e.g. 600s, 10m, "
                                     "1h30m, 500ms, or bare seconds)");
  }
  value = boost::any(DurationFlag{*parsed});
}

}  // namespace agora
