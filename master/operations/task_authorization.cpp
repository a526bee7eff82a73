// What a task may ask of the host, decided by its framework principal's ACLs
// before it is sent to an agent.

#include "master/operations/operations.hpp"

namespace agora::master {

namespace {
using acl::Action;
}  // namespace

std::string Operations::authorizeTask(const Framework& framework, TaskInfo& task) const {
  const acl::Authorizer& acls = ctx_.acls();
  const std::string& principal = framework.principal;
  auto denied = [&](Action action, const std::string& object) -> std::string {
    acl::Decision decision = acls.authorize(action, principal, object);
    if (decision) return "";
    ctx_.metrics.rejected("acl_denied");
    return acl::denialMessage(action, principal, object, decision);
  };
  if (!task.command.user.empty()) {
    if (std::string why = denied(Action::kRunTask, task.command.user); !why.empty()) return why;
  } else {
    // The framework's user when its principal may use it (the scheduler's
    // own user, often root, is not a good default), else an unprivileged one.
    const std::string& wanted = framework.info.user;
    bool usable = !wanted.empty() && acls.current()->check(Action::kRunTask, principal, wanted);
    task.command.user = usable ? wanted : std::string(kUnprivilegedUser);
    if (!usable) {
      if (std::string why = denied(Action::kRunTask, task.command.user); !why.empty()) return why;
    }
  }
  const ContainerInfo& container = task.container;
  if (container.privileged) {
    if (std::string why = denied(Action::kLaunchPrivileged, ""); !why.empty()) return why;
  }
  for (const std::string& capability : container.capAdd) {
    if (std::string why = denied(Action::kAddCapability, capability); !why.empty()) return why;
  }
  for (const Volume& volume : container.volumes) {
    if (volume.source != Volume::Source::kHostPath) continue;
    if (std::string why = denied(Action::kMountHostPath, volume.path); !why.empty()) return why;
  }
  return "";
}

}  // namespace agora::master
