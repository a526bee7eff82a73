// The cgroups library and isolator against fake cgroupfs trees in a temp
// dir: limit math, parsing, backend detection, and what v1 and v2 write and
// read. Real cgroups are exercised by cgroups_isolator_test.cpp (privileged).

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/cgroups/cgroupfs.hpp"
#include "agent/cgroups/cgroups_detect.hpp"
#include "agent/cgroups/cgroups_v1.hpp"
#include "agent/cgroups/cgroups_v2.hpp"
#include "agent/cgroups_isolator.hpp"

namespace agora::agent::cgroups {
namespace {

namespace fs = std::filesystem;

class CgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-cgroupfs-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(root_); }

  void put(const std::string& rel, const std::string& content) {
    fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << content;
  }
  std::string get(const std::string& rel) {
    std::ifstream in(root_ + "/" + rel);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string root_;
};

TEST_F(CgroupsTest, CpuLimitMath) {
  EXPECT_EQ(cpuShares(1), 1024u);
  EXPECT_EQ(cpuShares(0.1), 102u);
  EXPECT_EQ(cpuShares(0.001), 2u);
  EXPECT_EQ(cpuShares(0), 2u);
  EXPECT_EQ(cpuWeightFromShares(2), 1u);
  EXPECT_EQ(cpuWeightFromShares(1024), 39u);
  EXPECT_EQ(cpuWeightFromShares(262144), 10000u);
  EXPECT_EQ(cpuQuotaUs(0.1, 100000), 10000u);
  EXPECT_EQ(cpuQuotaUs(2.5, 100000), 250000u);
  EXPECT_EQ(cpuQuotaUs(0.001, 100000), 1000u);  // the kernel's minimum
}

TEST_F(CgroupsTest, ParsesKeyedFilesPidsAndMax) {
  auto keyed = parseKeyed("nr_periods 10\nnr_throttled 4\nbogus\nthrottled_time 5000\n");
  EXPECT_EQ(keyed["nr_periods"], 10u);
  EXPECT_EQ(keyed["nr_throttled"], 4u);
  EXPECT_EQ(keyed["throttled_time"], 5000u);
  EXPECT_EQ(keyed.count("bogus"), 0u);
  EXPECT_EQ(parsePids("12\n34\n\n"), (std::vector<pid_t>{12, 34}));
  EXPECT_EQ(*parseValue("max\n"), UINT64_MAX);
  EXPECT_EQ(*parseValue("42\n"), 42u);
  EXPECT_FALSE(parseValue("4x2"));
  EXPECT_FALSE(parseValue(""));
}

TEST_F(CgroupsTest, DetectsV1OnAHybridHostWithAnEmptyCgroup2) {
  std::string mounts;
  for (const char* c : {"cpu", "cpuacct", "memory", "pids", "freezer"}) {
    fs::create_directories(root_ + "/" + c + "/me");
    mounts += std::string("cgroup ") + root_ + "/" + c + " cgroup rw,relatime," + c + " 0 0\n";
  }
  mounts += "cgroup2 " + root_ + "/unified cgroup2 rw 0 0\n";
  put("unified/cgroup.controllers", "\n");
  put("mounts", mounts);
  put("self", "4:memory:/me\n1:cpu:/\n0::/\n");
  auto cg = detectCgroups({root_ + "/mounts", root_ + "/self"});
  ASSERT_TRUE(cg) << cg.error().message;
  EXPECT_EQ((*cg)->version(), 1);
  // Nested under this process's own cgroup where it has one.
  EXPECT_NE((*cg)->describe().find("memory=" + root_ + "/memory/me"), std::string::npos);
  EXPECT_NE((*cg)->describe().find("cpu=" + root_ + "/cpu,"), std::string::npos);
}

TEST_F(CgroupsTest, DetectsV2WhenItOffersTheControllers) {
  put("unified/agent/cgroup.controllers", "cpuset cpu io memory pids\n");
  put("mounts", "cgroup2 " + root_ + "/unified cgroup2 rw 0 0\n");
  put("self", "0::/agent\n");
  auto cg = detectCgroups({root_ + "/mounts", root_ + "/self"});
  ASSERT_TRUE(cg) << cg.error().message;
  EXPECT_EQ((*cg)->version(), 2);
  EXPECT_EQ((*cg)->describe(), "cgroup v2 (" + root_ + "/unified/agent)");
}

TEST_F(CgroupsTest, AnAgentStartedInTheLeafOfAnEarlierOneUsesTheSameRoot) {
  put("unified/agent/cgroup.controllers", "cpu memory pids\n");
  put("mounts", "cgroup2 " + root_ + "/unified cgroup2 rw 0 0\n");
  put("self", std::string("0::/agent/") + CgroupsV2::kAgentLeaf + "\n");
  auto cg = detectCgroups({root_ + "/mounts", root_ + "/self"});
  ASSERT_TRUE(cg) << cg.error().message;
  EXPECT_EQ((*cg)->describe(), "cgroup v2 (" + root_ + "/unified/agent)");
}

TEST_F(CgroupsTest, NoUsableCgroupsIsUnavailable) {
  put("mounts", "cgroup " + root_ + "/cpu cgroup rw,cpu 0 0\n");
  put("self", "1:cpu:/\n");
  auto cg = detectCgroups({root_ + "/mounts", root_ + "/self"});
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(cg.error().message.find("memory"), std::string::npos);
}

TEST_F(CgroupsTest, V2EnablesControllersSetsLimitsAndReadsUsage) {
  put("cgroup.controllers", "cpuset cpu io memory pids\n");
  put("cgroup.subtree_control", "");
  put("agora/cgroup.controllers", "cpu memory pids\n");
  put("agora/cgroup.subtree_control", "cpu memory pids\n");
  CgroupsV2 cg(root_);
  ASSERT_TRUE(cg.create("agora/c1"));
  EXPECT_EQ(get("cgroup.subtree_control"), "+pids");  // the last of three writes
  ASSERT_TRUE(cg.exists("agora/c1"));
  for (const char* f :
       {"cpu.weight", "memory.max", "memory.swap.max", "pids.max", "cgroup.procs", "cgroup.kill"})
    put(std::string("agora/c1/") + f, "");
  put("agora/c1/cpu.max", "max 100000\n");
  ASSERT_TRUE(cg.setLimits("agora/c1", {0.5, true, 64u << 20, 20}));
  EXPECT_EQ(get("agora/c1/cpu.weight"), "20");
  EXPECT_EQ(get("agora/c1/cpu.max"), "50000 100000");
  EXPECT_EQ(get("agora/c1/memory.max"), "67108864");
  EXPECT_EQ(get("agora/c1/memory.swap.max"), "0");
  EXPECT_EQ(get("agora/c1/pids.max"), "20");
  // The quota goes again; a cgroup already without one is left alone.
  ASSERT_TRUE(cg.setLimits("agora/c1", {0.5, false, 0, 0}));
  EXPECT_EQ(get("agora/c1/cpu.max"), "max 100000");
  put("agora/c1/cpu.max", "max 100000\n");
  ASSERT_TRUE(cg.setLimits("agora/c1", {0.5, false, 0, 0}));
  EXPECT_EQ(get("agora/c1/cpu.max"), "max 100000\n");
  ASSERT_TRUE(cg.attach("agora/c1", 1234));
  EXPECT_EQ(get("agora/c1/cgroup.procs"), "1234");

  put("agora/c1/cpu.stat",
      "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 10\n"
      "nr_throttled 4\nthrottled_usec 500000\n");
  put("agora/c1/memory.current", "1000\n");
  put("agora/c1/memory.peak", "5000\n");
  put("agora/c1/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n");
  put("agora/c1/pids.current", "3\n");
  auto u = cg.usage("agora/c1");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_DOUBLE_EQ(u->cpuUserSec, 2.0);
  EXPECT_DOUBLE_EQ(u->cpuSystemSec, 1.0);
  EXPECT_EQ(u->cpuThrottled, 4u);
  EXPECT_DOUBLE_EQ(u->cpuThrottledSec, 0.5);
  EXPECT_EQ(u->memoryBytes, 1000u);
  EXPECT_EQ(u->memoryPeakBytes, 5000u);
  EXPECT_EQ(u->memoryLimitBytes, 67108864u);
  EXPECT_EQ(u->oomKills, 1u);
  EXPECT_EQ(u->pids, 3u);

  put("agora/c1/cgroup.procs", "");  // nothing left to kill: cgroup.kill untouched
  ASSERT_TRUE(cg.killAll("agora/c1"));
  EXPECT_EQ(get("agora/c1/cgroup.kill"), "");
}

TEST_F(CgroupsTest, V2RefusesAMissingController) {
  put("cgroup.controllers", "cpu memory\n");
  put("cgroup.subtree_control", "");
  CgroupsV2 cg(root_);
  auto s = cg.create("agora");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("'pids' is not available"), std::string::npos);
}

TEST_F(CgroupsTest, V1SetsLimitsInEachHierarchyAndReadsUsage) {
  std::map<std::string, std::string> roots;
  for (const char* c : {"cpu", "cpuacct", "memory", "pids", "freezer"}) {
    roots[c] = root_ + "/" + c;
  }
  CgroupsV1 cg(roots);
  ASSERT_TRUE(cg.create("agora/c1"));
  for (const char* c : {"cpu", "cpuacct", "memory", "pids", "freezer"}) {
    EXPECT_TRUE(fs::is_directory(root_ + "/" + c + "/agora/c1")) << c;
  }
  for (const char* f : {"cpu/agora/c1/cpu.shares", "cpu/agora/c1/cpu.cfs_quota_us",
                        "memory/agora/c1/memory.limit_in_bytes",
                        "memory/agora/c1/memory.memsw.limit_in_bytes", "pids/agora/c1/pids.max"})
    put(f, "");
  put("cpu/agora/c1/cpu.cfs_period_us", "100000\n");
  ASSERT_TRUE(cg.setLimits("agora/c1", {0.1, true, 32u << 20, 20}));
  EXPECT_EQ(get("cpu/agora/c1/cpu.shares"), "102");
  EXPECT_EQ(get("cpu/agora/c1/cpu.cfs_quota_us"), "10000");
  EXPECT_EQ(get("memory/agora/c1/memory.limit_in_bytes"), "33554432");
  EXPECT_EQ(get("memory/agora/c1/memory.memsw.limit_in_bytes"), "33554432");
  EXPECT_EQ(get("pids/agora/c1/pids.max"), "20");
  ASSERT_TRUE(cg.setLimits("agora/c1", {0.1, false, 0, 0}));
  EXPECT_EQ(get("cpu/agora/c1/cpu.cfs_quota_us"), "-1");
  // Already unlimited, as the kernel shows a new cgroup: left alone.
  put("cpu/agora/c1/cpu.cfs_quota_us", "-1\n");
  ASSERT_TRUE(cg.setLimits("agora/c1", {0.1, false, 0, 0}));
  EXPECT_EQ(get("cpu/agora/c1/cpu.cfs_quota_us"), "-1\n");

  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  put("cpuacct/agora/c1/cpuacct.stat", "user 250\nsystem 50\n");
  put("cpu/agora/c1/cpu.stat", "nr_periods 30\nnr_throttled 12\nthrottled_time 2000000000\n");
  put("memory/agora/c1/memory.usage_in_bytes", "4096\n");
  put("memory/agora/c1/memory.max_usage_in_bytes", "8192\n");
  put("memory/agora/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put("pids/agora/c1/pids.current", "5\n");
  auto u = cg.usage("agora/c1");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_DOUBLE_EQ(u->cpuUserSec, 250 / ticks);
  EXPECT_DOUBLE_EQ(u->cpuSystemSec, 50 / ticks);
  EXPECT_EQ(u->cpuThrottled, 12u);
  EXPECT_DOUBLE_EQ(u->cpuThrottledSec, 2.0);
  EXPECT_EQ(u->memoryPeakBytes, 8192u);
  EXPECT_EQ(u->oomKills, 2u);
  EXPECT_EQ(u->pids, 5u);
}

TEST_F(CgroupsTest, IsolatorDerivesLimitsFromResourcesLabelsAndFlags) {
  CgroupsIsolator isolator(std::make_unique<CgroupsV2>(root_), {"agora", false, 1024});
  TaskInfo task;
  ASSERT_TRUE(task.resources.setScalar("cpus", 0.5));
  ASSERT_TRUE(task.resources.setScalar("mem", 64));
  auto limits = isolator.limitsFor(task);
  EXPECT_DOUBLE_EQ(limits.cpus, 0.5);
  EXPECT_FALSE(limits.cpuQuota);
  EXPECT_EQ(limits.memoryBytes, 64u << 20);
  EXPECT_EQ(limits.pidsMax, 1024u);
  task.labels = {{CgroupsIsolator::kPidsMaxLabel, "20"}, {CgroupsIsolator::kCpuQuotaLabel, "true"}};
  limits = isolator.limitsFor(task);
  EXPECT_TRUE(limits.cpuQuota);
  EXPECT_EQ(limits.pidsMax, 20u);
  EXPECT_EQ(memoryLimitMessage(64),
            "Memory limit exceeded: the task used more than its 64 MB (mem:64)");
  EXPECT_EQ(memoryLimitMessage(0.5),
            "Memory limit exceeded: the task used more than its 0.5 MB (mem:0.5)");
}

TEST_F(CgroupsTest, IsolatorReportsAnOomKillAsTheMemoryLimitation) {
  put("cgroup.controllers", "cpu memory pids\n");
  put("cgroup.subtree_control", "cpu memory pids\n");
  put("agora/cgroup.controllers", "cpu memory pids\n");
  put("agora/cgroup.subtree_control", "cpu memory pids\n");
  put("agora/c1/memory.max", "max\n");
  put("agora/c1/cpu.stat", "user_usec 1\n");
  put("agora/c1/memory.events", "oom_kill 0\n");
  CgroupsIsolator isolator(std::make_unique<CgroupsV2>(root_), {"agora", false, 0});
  ContainerConfig config;
  config.containerId = "c1";
  ASSERT_TRUE(config.task.resources.setScalar("mem", 64));
  ASSERT_TRUE(isolator.prepare(config));
  put("agora/c1/memory.events", "oom_kill 0\n");
  EXPECT_FALSE(isolator.limitation("c1"));
  put("agora/c1/memory.events", "oom 1\noom_kill 1\n");
  auto limit = isolator.limitation("c1");
  ASSERT_TRUE(limit);
  EXPECT_EQ(limit->reason, TaskReason::CONTAINER_LIMITATION_MEMORY);
  EXPECT_EQ(limit->message, "Memory limit exceeded: the task used more than its 64 MB (mem:64)");
}

}  // namespace
}  // namespace agora::agent::cgroups
