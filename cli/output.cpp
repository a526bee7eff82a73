#include "cli/output.hpp"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace agora::cli {

std::string formatUtc(double seconds) {
  if (seconds <= 0) return "-";
  auto whole = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03d", static_cast<int>((seconds - whole) * 1000) % 1000);
  return std::string(buffer) + millis + " UTC";
}

std::string formatNumber(double value) {
  if (!std::isfinite(value)) {
    std::ostringstream out;
    out << value;
    return out.str();
  }
  std::ostringstream out;
  out << std::fixed;
  out.precision(3);
  out << value;
  std::string text = out.str();
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

void writeJson(std::ostream& out, const std::string& body, bool pretty) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) {
    out << body;
    if (body.empty() || body.back() != '\n') out << "\n";
  } else {
    out << json.dump(pretty ? 2 : -1) << "\n";
  }
  out << std::flush;
}

void printJson(const std::string& body) { writeJson(std::cout, body, isatty(STDOUT_FILENO) == 1); }

void writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return;  // stdout closed: nothing useful left to do
    done += static_cast<size_t>(n);
  }
}

}  // namespace agora::cli
