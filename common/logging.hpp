#pragma once

#include <string>

namespace agora {

// glog to stderr and, when logDir is set, to files there. Safe to call once per process.
void initLogging(const char* argv0, const std::string& logDir);

}  // namespace agora
