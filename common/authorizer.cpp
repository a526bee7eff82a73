#include "common/authorizer.hpp"

#include <glog/logging.h>

namespace agora::acl {

Result<std::unique_ptr<Authorizer>> Authorizer::create(const std::string& path, Metrics& metrics,
                                                       const std::string& prefix) {
  Acls acls;
  if (!path.empty()) {
    auto loaded = Acls::load(path);
    if (!loaded) return makeError(loaded.error());
    acls = std::move(*loaded);
    LOG(INFO) << "ACLs: " << acls.ruleCount() << " rules from " << path
              << (acls.permissive() ? " (permissive)" : " (not permissive)");
  }
  return std::unique_ptr<Authorizer>(new Authorizer(path, metrics, prefix, std::move(acls)));
}

Authorizer::Authorizer(Acls acls)
    : ownMetrics_(std::make_unique<Metrics>()), metrics_(*ownMetrics_), prefix_("agora") {
  replace(std::move(acls));
}

Authorizer::Authorizer(std::string path, Metrics& metrics, const std::string& prefix, Acls acls)
    : path_(std::move(path)), metrics_(metrics), prefix_(prefix) {
  replace(std::move(acls));
}

void Authorizer::replace(Acls acls) {
  cell_.publish(std::make_shared<const Acls>(std::move(acls)), cell_.generation());
}

Decision Authorizer::authorize(Action action, const std::string& principal,
                               const std::string& object) const {
  Decision decision = cell_.get()->check(action, principal, object);
  if (!decision.allowed) {
    metrics_
        .counter(prefix_ + "_acl_denials_total", "Calls the ACLs denied, by action",
                 {{"action", actionName(action)}})
        .Increment();
    LOG_EVERY_N(WARNING, 20) << denialMessage(action, principal, object, decision) << " (every "
                             << "20th denial is logged)";
  }
  return decision;
}

Status Authorizer::require(Action action, const std::string& principal,
                           const std::string& object) const {
  Decision decision = authorize(action, principal, object);
  if (decision) return {};
  return makeError(ErrorCode::kPermissionDenied,
                   denialMessage(action, principal, object, decision));
}

Status Authorizer::reload() {
  auto count = [&](const char* result) {
    metrics_
        .counter(prefix_ + "_acl_reloads_total", "ACL file reloads (SIGHUP), by result",
                 {{"result", result}})
        .Increment();
  };
  if (path_.empty()) {
    count("failed");
    return makeError(ErrorCode::kFailedPrecondition, "no ACL file given (--acls): nothing to reload");
  }
  auto loaded = Acls::load(path_);
  if (!loaded) {
    count("failed");
    LOG(ERROR) << "keeping the previous ACLs: " << loaded.error().message;
    return makeError(loaded.error());
  }
  LOG(INFO) << "ACLs reloaded: " << loaded->ruleCount() << " rules from " << path_;
  replace(std::move(*loaded));
  count("ok");
  return {};
}

}  // namespace agora::acl
