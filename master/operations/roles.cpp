// Operations: an operator's weights and quota for roles.

#include <glog/logging.h>

#include "master/operations/operations.hpp"

namespace agora::master {

Status Operations::setWeight(const std::string& role, double weight) {
  Status status = ctx_.allocator.setWeight(role, weight);
  if (status) {
    LOG(INFO) << "role " << role << ": weight set to " << weight;
    ctx_.registry.persist({putWeight(role, weight)});
    if (ctx_.bus.active()) ctx_.bus.publish(events::WeightChanged{role, weight});
    ctx_.scheduleAllocation();
  }
  return status;
}

Status Operations::setQuota(const std::string& role, std::optional<Resources> guarantee,
                            std::optional<Resources> limit) {
  Status status = ctx_.allocator.setQuota(role, guarantee, limit);
  if (status) {
    LOG(INFO) << "role " << role << ": quota guarantee "
              << (guarantee ? guarantee->toString() : "none") << ", limit "
              << (limit ? limit->toString() : "none");
    bool none = (!guarantee || guarantee->empty()) && !limit;
    ctx_.registry.persist({none ? eraseQuota(role) : putQuota(role, {guarantee, limit})});
    if (ctx_.bus.active()) ctx_.bus.publish(events::QuotaChanged{role, guarantee, limit});
    ctx_.scheduleAllocation();
  }
  return status;
}

Status Operations::removeQuota(const std::string& role) {
  Status status = ctx_.allocator.removeQuota(role);
  if (status) {
    LOG(INFO) << "role " << role << ": quota removed";
    ctx_.registry.persist({eraseQuota(role)});
    if (ctx_.bus.active()) {
      ctx_.bus.publish(events::QuotaChanged{role, std::nullopt, std::nullopt});
    }
    ctx_.scheduleAllocation();
  }
  return status;
}

}  // namespace agora::master
