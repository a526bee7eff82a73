#include "master/core/context.hpp"

#include <glog/logging.h>

namespace agora::master {

void MasterContext::reject(const std::string& reason, const std::string& detail) {
  metrics.rejected(reason);
  LOG_EVERY_N(WARNING, 100) << "dropping frame (" << reason << "): " << detail << " ["
                            << google::COUNTER << " so far]";
  markChanged();
}

}  // namespace agora::master
