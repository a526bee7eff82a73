#include "agent/disk_usage.hpp"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>

namespace agora::agent {
namespace {

thread_local uint64_t walked = 0;

int count(const char*, const struct stat* st, int type, FTW*) {
  // A file that vanished during the walk counts nothing.
  if (type == FTW_F || type == FTW_D || type == FTW_DP || type == FTW_SL) {
    walked += static_cast<uint64_t>(st->st_blocks) * 512;
  }
  return 0;
}

}  // namespace

Result<uint64_t> diskUsageBytes(const std::string& dir) {
  walked = 0;
  if (nftw(dir.c_str(), count, 16, FTW_PHYS | FTW_MOUNT) != 0) {
    return makeError(errnoError("walk " + dir, errno));
  }
  return walked;
}

}  // namespace agora::agent
