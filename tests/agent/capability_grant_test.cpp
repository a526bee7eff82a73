// Capabilities on a host whose bounding set lacks some (an agent in a
// container, or under a hardened service manager): "ALL" grants what the
// agent can grant, a capability named in cap_add that it cannot is a clear
// error. The real-kernel case runs in a forked child that first gives up
// SYS_MODULE as an agent started with a reduced bounding set would lack it.

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "agent/executor/security_policy.hpp"

namespace agora::agent {
namespace {

constexpr CapabilitySet bit(int cap) { return CapabilitySet{1} << cap; }

ContainerInfo adding(std::vector<std::string> add) {
  ContainerInfo c;
  c.capAdd = std::move(add);
  return c;
}

TEST(CapabilityGrantTest, AllAndPrivilegedGetWhatIsGrantable) {
  const int last = CAP_AUDIT_READ;
  const CapabilitySet every = bit(last + 1) - 1;
  const CapabilitySet grantable = every & ~bit(CAP_SYS_MODULE) & ~bit(CAP_SYS_RAWIO);
  auto all = capabilitiesWithin(adding({"ALL"}), last, grantable);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(*all, grantable);
  ContainerInfo privileged;
  privileged.privileged = true;
  auto priv = capabilitiesWithin(privileged, last, grantable);
  ASSERT_TRUE(priv) << priv.error().message;
  EXPECT_EQ(*priv, grantable);
  // With everything grantable nothing changes.
  EXPECT_EQ(*capabilitiesWithin(adding({"ALL"}), last, every), every);
  EXPECT_EQ(*capabilitiesWithin(ContainerInfo{}, last, every), defaultCapabilities());
}

TEST(CapabilityGrantTest, ANamedCapabilityTheAgentCannotGrantIsAnErrorNamingIt) {
  const int last = CAP_AUDIT_READ;
  const CapabilitySet grantable = (bit(last + 1) - 1) & ~bit(CAP_SYS_MODULE);
  auto named = capabilitiesWithin(adding({"NET_ADMIN", "sys_module"}), last, grantable);
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(named.error().message,
            "capAdd: this agent cannot grant SYS_MODULE: not in its own capability bounding set");
  // A default the agent lacks is left out quietly.
  const CapabilitySet noRaw = (bit(last + 1) - 1) & ~bit(CAP_NET_RAW);
  auto defaults = capabilitiesWithin(ContainerInfo{}, last, noRaw);
  ASSERT_TRUE(defaults);
  EXPECT_EQ(*defaults, defaultCapabilities() & ~bit(CAP_NET_RAW));
}

// The capability sets of /proc/self/status, by name ("CapEff" -> bits).
CapabilitySet statusSet(const std::string& name) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) return std::stoull(line.substr(name.size() + 1), nullptr, 16);
  }
  return ~CapabilitySet{0};
}

TEST(CapabilityGrantTest, OnAReducedBoundingSetAllStillLaunchesWithoutWhatTheHostLacks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  if (prctl(PR_CAPBSET_READ, CAP_SYS_MODULE, 0, 0, 0) != 1) {
    GTEST_SKIP() << "this host already lacks SYS_MODULE";
  }
  int errPipe[2];
  ASSERT_EQ(pipe(errPipe), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(errPipe[0]);
    // Become a process started under a bounding set without SYS_MODULE.
    __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE, 0, 0, 0) != 0 ||
        syscall(SYS_capget, &header, data) != 0) {
      _exit(10);
    }
    for (auto& d : data) {
      d.permitted &= ~(1u << CAP_SYS_MODULE);
      d.effective &= ~(1u << CAP_SYS_MODULE);
      d.inheritable = 0;
    }
    if (syscall(SYS_capset, &header, data) != 0) _exit(11);
    auto grantable = grantableCapabilities();
    if (!grantable || (*grantable & bit(CAP_SYS_MODULE)) != 0) _exit(12);
    if (containerCapabilities(adding({"SYS_MODULE"}))) _exit(13);
    ContainerInfo all = adding({"ALL"});
    all.seccompUnconfined = true;
    auto policy = SecurityPolicy::create(all, "/sandbox", {}, nullptr);
    if (!policy) _exit(14);
    // As the container's command does: exits 127 when a step fails.
    (*policy)->dropBoundingSet(errPipe[1]);
    (*policy)->restrict(errPipe[1]);
    _exit(statusSet("CapEff") == *grantable && statusSet("CapBnd") == *grantable ? 0 : 15);
  }
  close(errPipe[1]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(errPipe[0]);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10-12: setup, 13: SYS_MODULE was granted, 14: no policy, 15: wrong sets, "
         "127: a step of the launch failed (capset)";
}

}  // namespace
}  // namespace agora::agent
