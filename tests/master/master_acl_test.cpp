// What a framework principal may do, as the master's ACLs say: roles it
// registers in, users its tasks run as, and what tasks may ask of the host.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/master/master_fixture.hpp"

namespace agora::master::testing {
namespace {

using ::testing::HasSubstr;

class MasterAclTest : public MasterTest {
 protected:
  // Remakes the master with `json` as its ACLs.
  void withAcls(const std::string& json) {
    auto parsed = acl::Acls::parse(json, "acls.json");
    ASSERT_TRUE(parsed) << parsed.error().message;
    authorizer_ = std::make_unique<acl::Authorizer>(*parsed);
    options_.authorizer = authorizer_.get();
    master_.reset();
    master_ = std::make_unique<Master>(loop_, *server_, options_);
  }
  // `s` launches `task` on its first offer; its last update (null: none).
  const TaskStatus* launch(FakeScheduler& s, TaskInfo task) {
    auto outstanding = s.outstandingOffers();
    if (outstanding.empty()) return nullptr;
    s.accept({outstanding.front()}, {task}, 0);
    settle();
    return s.lastUpdateFor(task.taskId);
  }

  std::unique_ptr<acl::Authorizer> authorizer_;
};

TEST_F(MasterAclTest, AFrameworkRegistersOnlyInRolesItsPrincipalIsAllowed) {
  withAcls(R"({"register_frameworks": [
    {"principals": ["framework:billing"], "roles": ["prod"]},
    {"principals": "NONE", "roles": ["prod"]}]})");
  server_->setPrincipal("web", "framework:web");
  server_->setPrincipal("billing", "framework:billing");
  auto web = std::make_unique<FakeScheduler>(network_, "web");
  web->roles = {"dev", "prod"};
  web->subscribe("web");
  auto billing = framework("billing", {"prod"});
  settle();
  EXPECT_TRUE(web->frameworkId.empty());
  ASSERT_EQ(web->errors.size(), 1u);
  EXPECT_EQ(web->errors[0],
            "not authorized: ACL rule register_frameworks[1] denies framework:web "
            "register_frameworks with roles 'prod'");
  EXPECT_EQ(rejected("acl_denied"), 1u);
  EXPECT_FALSE(billing->frameworkId.empty());
  EXPECT_EQ(master_->state().frameworks.size(), 1u);
}

TEST_F(MasterAclTest, TasksRunAsNobodyUnlessThePrincipalMayUseItsFrameworksUser) {
  server_->setPrincipal("sched-1", "framework:web");
  auto s = std::make_unique<FakeScheduler>(network_, "sched-1");
  s->user = "root";
  s->subscribe("web");
  auto a = agent("agent-a", "cpus:4;mem:4096");
  launch(*s, makeTask("t1", "cpus:1"));
  ASSERT_EQ(a->runTasks.size(), 1u);
  EXPECT_EQ(a->runTasks[0].second.command.user, "nobody");

  // Granted root: the framework's user.
  withAcls(R"({"run_tasks": [{"principals": ["framework:web"], "users": ["root"]}]})");
  auto granted = std::make_unique<FakeScheduler>(network_, "sched-1");
  granted->user = "root";
  granted->subscribe("web");
  auto b = agent("agent-b", "cpus:4;mem:4096");
  launch(*granted, makeTask("t2", "cpus:1"));
  ASSERT_EQ(b->runTasks.size(), 1u);
  EXPECT_EQ(b->runTasks[0].second.command.user, "root");
}

TEST_F(MasterAclTest, ATaskAskingForAUserOrPrivilegesItsPrincipalLacksIsAnError) {
  server_->setPrincipal("sched-1", "framework:web");
  auto s = scheduler("sched-1");
  auto a = agent("agent-a", "cpus:8;mem:8192");
  auto expectDenied = [&](TaskInfo task, const std::string& why) {
    const TaskStatus* status = launch(*s, task);
    ASSERT_NE(status, nullptr) << task.taskId;
    EXPECT_EQ(status->state, TaskState::ERROR) << task.taskId;
    EXPECT_EQ(status->reason, TaskReason::TASK_INVALID) << task.taskId;
    EXPECT_THAT(status->message, HasSubstr(why)) << task.taskId;
  };
  TaskInfo root = makeTask("as-root", "cpus:1");
  root.command.user = "root";
  expectDenied(root, "framework:web may not run_tasks with users 'root'");
  TaskInfo privileged = makeTask("privileged", "cpus:1");
  privileged.container.privileged = true;
  expectDenied(privileged, "may not launch_privileged");
  TaskInfo sysAdmin = makeTask("sys-admin", "cpus:1");
  sysAdmin.container.capAdd = {"SYS_ADMIN"};
  expectDenied(sysAdmin, "add_capabilities with capabilities 'SYS_ADMIN'");
  TaskInfo hostPath = makeTask("host-path", "cpus:1");
  hostPath.container.volumes = {Volume::hostPath("/etc", "/host-etc", true)};
  expectDenied(hostPath, "mount_host_paths with paths '/etc'");
  EXPECT_TRUE(a->runTasks.empty());
  EXPECT_EQ(rejected("acl_denied"), 4u);
}

TEST_F(MasterAclTest, GrantsLetATaskHaveWhatTheyName) {
  withAcls(R"({
    "run_tasks": [{"principals": ["framework:ops"], "users": ["root"]}],
    "add_capabilities": [{"principals": ["framework:ops"], "capabilities": ["NET_ADMIN"]}],
    "mount_host_paths": [{"principals": ["framework:ops"], "paths": ["/srv/data"]}]})");
  server_->setPrincipal("ops", "framework:ops");
  auto s = scheduler("ops");
  auto a = agent("agent-a", "cpus:8;mem:8192");
  TaskInfo task = makeTask("t", "cpus:1");
  task.command.user = "root";
  task.container.capAdd = {"NET_ADMIN"};
  task.container.volumes = {Volume::hostPath("/srv/data/app", "/data")};
  launch(*s, task);
  ASSERT_EQ(a->runTasks.size(), 1u);
  EXPECT_EQ(a->runTasks[0].second.command.user, "root");
}

}  // namespace
}  // namespace agora::master::testing
