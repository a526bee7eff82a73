#include "master/operations/launch_planner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agora::master {
namespace {

using ::testing::HasSubstr;

TaskRequest request(const std::string& id, const std::string& resources, int group = -1) {
  TaskInfo task;
  task.taskId = id;
  task.resources = *Resources::parse(resources);
  task.command.value = "true";
  return TaskRequest{id, task, group};
}

class LaunchPlannerTest : public ::testing::Test {
 protected:
  LaunchPlan plan(const std::vector<TaskRequest>& requests, const std::string& offered,
                  std::set<std::string> live = {}) {
    return planLaunch(requests, "S1", *Resources::parse(offered),
                      [live](const std::string& id) { return live.count(id) > 0; });
  }
};

TEST_F(LaunchPlannerTest, LaunchesTasksThatFitInOrder) {
  auto p = plan({request("a", "cpus:1"), request("b", "cpus:2"), request("c", "cpus:1")}, "cpus:3");
  ASSERT_EQ(p.launch.size(), 2u);
  EXPECT_EQ(p.launch[0].agentId, "S1");
  EXPECT_EQ(p.used.toString(), "cpus:3");
  ASSERT_EQ(p.rejected.size(), 1u);
  EXPECT_EQ(p.rejected[0].taskId, "c");
  EXPECT_EQ(
      p.rejected[0].message,
      "task 'c' needs cpus:1 but the offers have nothing left after earlier tasks (of cpus:3)");
}

TEST_F(LaunchPlannerTest, RejectsInvalidTasksWithActionableMessages) {
  TaskRequest noCommand = request("nocmd", "cpus:1");
  noCommand.info->command.value.clear();
  TaskRequest wrongAgent = request("elsewhere", "cpus:1");
  wrongAgent.info->agentId = "S9";
  TaskRequest undecodable{"bad", makeError(ErrorCode::kInvalidArgument, "task 'bad': cpus < 0"),
                          -1};
  auto p = plan({request("bad/id", "cpus:1"), request("live", "cpus:1"), request("empty", ""),
                 noCommand, wrongAgent, undecodable},
                "cpus:8", {"live"});
  EXPECT_TRUE(p.launch.empty());
  ASSERT_EQ(p.rejected.size(), 6u);
  EXPECT_THAT(p.rejected[0].message, HasSubstr("'/'"));
  EXPECT_THAT(p.rejected[1].message, HasSubstr("already used by a live task"));
  EXPECT_THAT(p.rejected[2].message, HasSubstr("has no resources"));
  EXPECT_THAT(p.rejected[3].message, HasSubstr("has no command"));
  EXPECT_THAT(p.rejected[4].message, HasSubstr("names agent 'S9'"));
  EXPECT_EQ(p.rejected[5].message, "task 'bad': cpus < 0");
}

TEST_F(LaunchPlannerTest, AnImageNeedsNoCommand) {
  TaskRequest imageOnly = request("img", "cpus:1");
  imageOnly.info->command.value.clear();
  imageOnly.info->container.image = "oci:/images/busybox:1";  // its Entrypoint and Cmd run
  auto p = plan({imageOnly}, "cpus:1");
  EXPECT_TRUE(p.rejected.empty());
  ASSERT_EQ(p.launch.size(), 1u);
}

TEST_F(LaunchPlannerTest, RejectsMalformedVolumesNamingTheVolume) {
  TaskRequest dotdot = request("dotdot", "cpus:1");
  dotdot.info->container.volumes = {Volume::hostPath("/srv/../etc", "/data")};
  TaskRequest twice = request("twice", "cpus:1");
  twice.info->container.volumes = {Volume::tmpfs("/t", 8), Volume::tmpfs("/t/", 8)};
  TaskRequest empty = request("empty", "cpus:1");
  empty.info->container.volumes = {Volume::tmpfs("", 8)};
  TaskRequest zero = request("zero", "cpus:1");
  zero.info->container.volumes = {Volume::tmpfs("/t", 0)};
  TaskRequest good = request("good", "cpus:1");
  good.info->container.volumes = {Volume::tmpfs("/t", 8), Volume::hostPath("/srv", "data", true)};
  auto p = plan({dotdot, twice, empty, zero, good}, "cpus:8");
  ASSERT_EQ(p.launch.size(), 1u);
  EXPECT_EQ(p.launch[0].taskId, "good");
  ASSERT_EQ(p.rejected.size(), 4u);
  EXPECT_EQ(p.rejected[0].message,
            "task 'dotdot': volume '/data' (host path /srv/../etc): host path must not contain "
            "'..'");
  EXPECT_EQ(p.rejected[1].message,
            "task 'twice': volume '/t/' (tmpfs 8 MB): another volume uses the same container "
            "path");
  EXPECT_EQ(p.rejected[2].message, "task 'empty': volume '' (tmpfs 8 MB): container path is empty");
  EXPECT_EQ(p.rejected[3].message,
            "task 'zero': volume '/t' (tmpfs 0 MB): tmpfs size must be 1-1048576 MB");
}

TEST_F(LaunchPlannerTest, GroupsAreAllOrNothing) {
  auto p = plan({request("g1", "cpus:1", 0), request("g2", "cpus:9", 0), request("solo", "cpus:2"),
                 request("h1", "cpus:1", 1), request("h2", "cpus:1", 1)},
                "cpus:4");
  std::vector<std::string> launched;
  for (const auto& t : p.launch) launched.push_back(t.taskId);
  EXPECT_EQ(launched, (std::vector<std::string>{"solo", "h1", "h2"}));
  ASSERT_EQ(p.rejected.size(), 2u);
  EXPECT_THAT(p.rejected[0].message, HasSubstr("task group rejected"));
  EXPECT_THAT(p.rejected[1].message, HasSubstr("needs cpus:9"));
}

}  // namespace
}  // namespace agora::master
