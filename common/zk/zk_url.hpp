#pragma once
// ZooKeeper addresses as operators write them: zk://HOST:PORT[,HOST:PORT...]/PATH.

#include <string>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace agora::zk {

struct ZkUrl {
  std::string servers;  // "h1:2181,h2:2181", as zookeeper_init() takes it
  std::string path;     // "/agora/masters": absolute, no trailing '/', not the root

  std::string toString() const { return "zk://" + servers + path; }
};

bool isZkUrl(const std::string& address);

// kInvalidArgument naming what is wrong (missing path, bad port, empty host...).
Result<ZkUrl> parseZkUrl(const std::string& url);

}  // namespace agora::zk

namespace agora::zk {

// A timeout flag in the shared duration syntax (common/duration.hpp). Must be
// positive and at most an hour.
Result<Duration> parseTimeout(const std::string& text);

}  // namespace agora::zk
