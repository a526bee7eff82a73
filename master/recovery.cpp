// Master: the rebuild from the registry at a start or a takeover — each
// component recovers its own records (schemas/PROTOCOL.md, "Master registry
// and restarts").

#include <glog/logging.h>

#include "master/master.hpp"

namespace agora::master {

void Master::recover(const RegistryContents& contents) {
  agents_->recover(contents);
  for (const auto& [role, weight] : contents.weights) {
    Status set = allocator_->setWeight(role, weight);
    LOG_IF(ERROR, !set) << "registry: weight of role " << role << ": " << set.error().message;
  }
  for (const auto& [role, quota] : contents.quotas) {
    Status set = allocator_->setQuota(role, quota.guarantee, quota.limit);
    LOG_IF(ERROR, !set) << "registry: quota of role " << role << ": " << set.error().message;
  }
  frameworks_->recover(contents.frameworks);
  tasks_->recoverCompleted(contents.tasks);
  LOG(INFO) << "recovered from registry "
            << (options_.registrar != nullptr ? options_.registrar->path() : "(given)") << ": "
            << contents.weights.size() << " weights, " << contents.quotas.size() << " quotas";
}

void Master::recoverAtTakeover(const RegistryContents& contents) {
  recover(contents);
  publishSnapshot();
  bus_.publish(events::LeadershipChanged{ctx_.masterId, true});
}

}  // namespace agora::master
