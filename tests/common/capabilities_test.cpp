// Capability names as tasks spell them, and the set a container ends up with.

#include "common/capabilities.hpp"

#include <gtest/gtest.h>
#include <linux/capability.h>

namespace agora {
namespace {

constexpr int kLast = CAP_CHECKPOINT_RESTORE;

CapabilitySet bit(int cap) { return CapabilitySet{1} << cap; }

TEST(CapabilitiesTest, ParsesNamesWithOrWithoutThePrefixInAnyCase) {
  EXPECT_EQ(*parseCapability("SYS_ADMIN"), CAP_SYS_ADMIN);
  EXPECT_EQ(*parseCapability("cap_sys_admin"), CAP_SYS_ADMIN);
  EXPECT_EQ(*parseCapability("Net_Raw"), CAP_NET_RAW);
  EXPECT_EQ(*parseCapability("CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
  for (const char* bad : {"", "CAP_", "SYS_ROOT", "21", "cap_21", "SYS ADMIN", "ALL"}) {
    auto cap = parseCapability(bad);
    ASSERT_FALSE(cap) << bad;
    EXPECT_EQ(cap.error().message, std::string("unknown capability '") + bad + "'");
  }
}

TEST(CapabilitiesTest, NamesAreTheShortUpperCaseForm) {
  EXPECT_EQ(capabilityName(CAP_SYS_ADMIN), "SYS_ADMIN");
  EXPECT_EQ(capabilityName(CAP_NET_BIND_SERVICE), "NET_BIND_SERVICE");
  EXPECT_EQ(capabilityNames(bit(CAP_CHOWN) | bit(CAP_KILL)), "CHOWN,KILL");
}

TEST(CapabilitiesTest, TheDefaultSetIsDockersFourteen) {
  CapabilitySet set = defaultCapabilities();
  EXPECT_EQ(__builtin_popcountll(set), 14);
  EXPECT_EQ(capabilityNames(set),
            "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,NET_BIND_SERVICE,"
            "NET_RAW,SYS_CHROOT,MKNOD,AUDIT_WRITE,SETFCAP");
  // The flags Docker documents as its defaults, as /proc/PID/status shows them.
  EXPECT_EQ(set, 0x00000000a80425fbULL);
}

TEST(CapabilitiesTest, AddsThenDropsAndDropAllStartsFromNothing) {
  auto set = resolveCapabilities({"SYS_ADMIN"}, {"chown", "CAP_KILL"}, kLast);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(*set, (defaultCapabilities() | bit(CAP_SYS_ADMIN)) & ~bit(CAP_CHOWN) & ~bit(CAP_KILL));
  set = resolveCapabilities({"NET_BIND_SERVICE"}, {"ALL"}, kLast);
  ASSERT_TRUE(set);
  EXPECT_EQ(*set, bit(CAP_NET_BIND_SERVICE));
  set = resolveCapabilities({"ALL"}, {"SYS_MODULE"}, kLast);
  ASSERT_TRUE(set);
  EXPECT_EQ(*set, ((bit(kLast + 1) - 1) & ~bit(CAP_SYS_MODULE)));
  set = resolveCapabilities({}, {}, kLast);
  ASSERT_TRUE(set);
  EXPECT_EQ(*set, defaultCapabilities());
}

TEST(CapabilitiesTest, RejectsContradictionsAndCapabilitiesTheKernelLacks) {
  auto both = resolveCapabilities({"KILL"}, {"kill"}, kLast);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().message, "capability KILL is both added and dropped");
  auto unknown = validateCapabilityChanges({}, {"CAP_NOPE"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "capDrop: unknown capability 'CAP_NOPE'");
  // An older kernel whose last capability is AUDIT_READ (37).
  auto old = resolveCapabilities({"BPF"}, {}, CAP_AUDIT_READ);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(old.error().message, "capability BPF is unknown to this kernel (its last is AUDIT_READ)");
  // ALL on that kernel stops at its last capability.
  auto all = resolveCapabilities({"ALL"}, {}, CAP_AUDIT_READ);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, bit(CAP_AUDIT_READ + 1) - 1);
}

}  // namespace
}  // namespace agora
