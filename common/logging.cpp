#include "common/logging.hpp"

#include <glog/logging.h>
#include <sys/stat.h>

namespace agora {

void initLogging(const char* argv0, const std::string& logDir) {
  static bool initialized = false;
  if (initialized) return;
  initialized = true;
  if (!logDir.empty()) {
    mkdir(logDir.c_str(), 0755);
    FLAGS_log_dir = logDir;
    FLAGS_alsologtostderr = true;
  } else {
    FLAGS_logtostderr = true;
  }
  FLAGS_colorlogtostderr = false;
  google::InitGoogleLogging(argv0);
  google::InstallFailureSignalHandler();
}

}  // namespace agora
