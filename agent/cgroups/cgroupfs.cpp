#include "agent/cgroups/cgroupfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <sstream>

#include "common/checkpoint_file.hpp"

namespace agora::agent::cgroups {

Result<std::string> readFile(const std::string& path) { return readWholeFile(path); }

Status writeFile(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return makeError(errnoError("open " + path, errno));
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n < 0) return makeError(errnoError("write '" + value + "' to " + path, err));
  return {};
}

bool pathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

Result<int64_t> changeTime(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return makeError(errnoError("stat " + path, errno));
  return static_cast<int64_t>(st.st_ctime);
}

Status removeDir(const std::string& path) {
  if (rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return makeError(errnoError("rmdir " + path, errno));
  }
  return {};
}

std::vector<std::string> subdirectories(const std::string& path) {
  std::vector<std::string> out;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return out;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == ".." || entry->d_type != DT_DIR) continue;
    out.push_back(name);
  }
  closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, uint64_t> parseKeyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t space = line.find(' ');
    if (space == std::string::npos || space == 0) continue;
    auto value = parseValue(line.substr(space + 1));
    if (value) out[line.substr(0, space)] = *value;
  }
  return out;
}

std::vector<pid_t> parsePids(const std::string& text) {
  std::vector<pid_t> out;
  std::istringstream in(text);
  long pid;
  while (in >> pid) {
    if (pid > 0 && pid <= INT_MAX) out.push_back(static_cast<pid_t>(pid));
  }
  return out;
}

Result<uint64_t> parseValue(const std::string& text) {
  size_t end = text.find_last_not_of(" \n");
  std::string trimmed = end == std::string::npos ? "" : text.substr(0, end + 1);
  if (trimmed == "max") return UINT64_MAX;
  uint64_t value = 0;
  auto [p, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
  if (ec != std::errc() || p != trimmed.data() + trimmed.size() || trimmed.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "not a number: '" + trimmed + "'");
  }
  return value;
}

uint64_t cpuShares(double cpus) {
  if (!(cpus > 0)) return 2;
  return std::max<uint64_t>(2, static_cast<uint64_t>(std::llround(cpus * 1024)));
}

uint64_t cpuWeightFromShares(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cpuQuotaUs(double cpus, uint64_t periodUs) {
  if (!(cpus > 0)) return 1000;
  return std::max<uint64_t>(
      1000, static_cast<uint64_t>(std::llround(cpus * static_cast<double>(periodUs))));
}

}  // namespace agora::agent::cgroups
