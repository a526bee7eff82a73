#pragma once
// Reading /proc/<pid>/stat: which processes belong to a session (the
// container of a PosixContainerizer is its executor's session) and their
// CPU time and memory.

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace agora::agent {

struct ProcStat {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  unsigned long long utimeTicks = 0;
  unsigned long long stimeTicks = 0;
  long long rssPages = 0;
  unsigned long long startTime = 0;  // clock ticks after boot; with pid, names a process
};

// nullopt if the process is gone or the line is malformed.
std::optional<ProcStat> readProcStat(pid_t pid);
// Whether `pid` exists and is not a zombie.
bool processLive(pid_t pid);
// Parses one /proc/<pid>/stat line.
std::optional<ProcStat> parseProcStat(const std::string& line);
// Every live (non-zombie) process whose session ID is `sid`.
std::vector<ProcStat> sessionMembers(pid_t sid);
// Every live (non-zombie) process, by session ID: one scan of /proc.
std::map<pid_t, std::vector<ProcStat>> processesBySession();

}  // namespace agora::agent
