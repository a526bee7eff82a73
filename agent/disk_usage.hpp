#pragma once
// The disk space a directory tree takes, as `du -s` counts it (allocated
// blocks), like Mesos's disk/du isolator: links are not followed and other
// filesystems mounted inside (volumes) are not counted.
//
// Thread: any; it blocks for as long as the walk takes (call it off the loop).

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace agora::agent {

Result<uint64_t> diskUsageBytes(const std::string& dir);

}  // namespace agora::agent
