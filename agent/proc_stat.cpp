#include "agent/proc_stat.hpp"

#include <dirent.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace agora::agent {

std::optional<ProcStat> parseProcStat(const std::string& line) {
  // "pid (comm) S ppid pgrp session ..." — comm may hold spaces and ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  ProcStat st;
  auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), st.pid);
  if (ec != std::errc()) return std::nullopt;
  (void)p;
  std::istringstream rest(line.substr(close + 1));
  // Fields from 3 (state) on; utime is 14, stime 15, starttime 22, rss 24.
  std::string field;
  std::vector<std::string> fields;
  while (rest >> field && fields.size() < 22) fields.push_back(field);
  if (fields.size() < 22 || fields[0].empty()) return std::nullopt;
  st.state = fields[0][0];
  st.ppid = static_cast<pid_t>(std::strtol(fields[1].c_str(), nullptr, 10));
  st.pgrp = static_cast<pid_t>(std::strtol(fields[2].c_str(), nullptr, 10));
  st.session = static_cast<pid_t>(std::strtol(fields[3].c_str(), nullptr, 10));
  st.utimeTicks = std::strtoull(fields[11].c_str(), nullptr, 10);
  st.stimeTicks = std::strtoull(fields[12].c_str(), nullptr, 10);
  st.startTime = std::strtoull(fields[19].c_str(), nullptr, 10);
  st.rssPages = std::strtoll(fields[21].c_str(), nullptr, 10);
  return st;
}

std::optional<ProcStat> readProcStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return parseProcStat(line);
}

bool processLive(pid_t pid) {
  auto st = readProcStat(pid);
  return st && st->state != 'Z';
}

namespace {

template <class Visit>
void forEachProcess(Visit&& visit) {
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    pid_t pid = 0;
    const char* name = entry->d_name;
    auto [end, ec] = std::from_chars(name, name + strlen(name), pid);
    if (ec != std::errc() || *end != '\0') continue;
    auto st = readProcStat(pid);
    if (st && st->state != 'Z') visit(*st);
  }
  closedir(dir);
}

}  // namespace

std::vector<ProcStat> sessionMembers(pid_t sid) {
  std::vector<ProcStat> members;
  forEachProcess([&](const ProcStat& st) {
    if (st.session == sid) members.push_back(st);
  });
  return members;
}

std::map<pid_t, std::vector<ProcStat>> processesBySession() {
  std::map<pid_t, std::vector<ProcStat>> out;
  forEachProcess([&](const ProcStat& st) { out[st.session].push_back(st); });
  return out;
}

}  // namespace agora::agent
