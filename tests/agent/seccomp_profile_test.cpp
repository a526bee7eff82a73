// The default seccomp profile, loaded for real in a forked child (no root
// needed: the child sets no_new_privs first), which reports what each call
// returned.

#include "agent/executor/seccomp_profile.hpp"
#include "tests/agent/i386_abi.hpp"

#include <string.h>

#include <errno.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "agent/executor/security_policy.hpp"
#include <linux/capability.h>
#include <vector>

namespace agora::agent {
namespace {

// Runs `probe` in a child under `filter`; returns what it wrote (ints), or
// the child's wait status negated when it died without finishing.
std::vector<int> underFilter(const std::vector<sock_filter>& filter,
                             const std::function<std::vector<int>()>& probe) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    sock_fprog program = {static_cast<unsigned short>(filter.size()),
                          const_cast<sock_filter*>(filter.data())};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) {
      _exit(120);
    }
    std::vector<int> out = probe();
    ssize_t n = write(fds[1], out.data(), out.size() * sizeof(int));
    _exit(n == static_cast<ssize_t>(out.size() * sizeof(int)) ? 0 : 121);
  }
  close(fds[1]);
  std::vector<int> out;
  int value;
  while (read(fds[0], &value, sizeof(value)) == sizeof(value)) out.push_back(value);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) return {-status};
  return out;
}

// errno of a failed call, 0 on success.
int err(long rc) { return rc < 0 ? errno : 0; }

TEST(SeccompProfileTest, PersonalityAllowsExactlyDockersValues) {
  auto filter = buildSeccompProfile(defaultCapabilities());
  ASSERT_TRUE(filter) << filter.error().message;
  // Every value with at most two bits set, and their complements, plus a
  // few above 32 bits.
  std::vector<uint64_t> values = {0, 0xffffffff, 0x100000000, 0x100000008, ~uint64_t{0}};
  for (int i = 0; i < 32; ++i) {
    for (int j = i; j < 32; ++j) {
      uint32_t v = (1u << i) | (1u << j);
      values.push_back(v);
      values.push_back(~v);
    }
  }
  auto results = underFilter(*filter, [&] {
    std::vector<int> out;
    for (uint64_t v : values) {
      out.push_back(err(syscall(SYS_personality, v)));
      syscall(SYS_personality, 0);
    }
    return out;
  });
  ASSERT_EQ(results.size(), values.size()) << "child status " << -results[0];
  for (size_t k = 0; k < values.size(); ++k) {
    uint64_t v = values[k];
    bool allowed = v == 0xffffffff || (v <= 0xffffffff && (v & ~uint64_t{0x20008}) == 0);
    EXPECT_EQ(results[k], allowed ? 0 : EPERM) << std::hex << "personality 0x" << v;
  }
}

TEST(SeccompProfileTest, NamespacesKeyringsAndClone3AreRefusedButPlainCloneWorks) {
  auto filter = buildSeccompProfile(defaultCapabilities());
  ASSERT_TRUE(filter) << filter.error().message;
  auto results = underFilter(*filter, [] {
    long child = syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (child == 0) _exit(0);
    if (child > 0) waitpid(static_cast<pid_t>(child), nullptr, 0);
    return std::vector<int>{
        err(child),
        err(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr)),
        err(unshare(CLONE_NEWUTS)),
        err(syscall(SYS_clone3, nullptr, 0)),
        err(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0)),
        err(syscall(SYS_getpid)),
    };
  });
  EXPECT_EQ(results, (std::vector<int>{0, EPERM, EPERM, ENOSYS, EPERM, 0}));
}

TEST(SeccompProfileTest, AHeldCapabilityAllowsItsCalls) {
  auto filter = buildSeccompProfile(defaultCapabilities() | (CapabilitySet{1} << CAP_SYS_ADMIN));
  ASSERT_TRUE(filter) << filter.error().message;
  // With SYS_ADMIN clone3 reaches the kernel, which refuses a null struct
  // with EINVAL rather than the profile's ENOSYS.
  auto results = underFilter(*filter, [] {
    return std::vector<int>{err(syscall(SYS_clone3, nullptr, 0)),
                            err(syscall(SYS_keyctl, 0, -3, 0))};
  });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_NE(results[0], ENOSYS);
  EXPECT_EQ(results[1], EPERM);  // keyrings stay blocked whatever the capabilities
}

TEST(SeccompProfileTest, TheI386AbiKillsTheProcess) {
  if (!testing::hostRunsI386Syscalls()) GTEST_SKIP() << "this host does not run i386 system calls";
  auto filter = buildSeccompProfile(defaultCapabilities());
  ASSERT_TRUE(filter) << filter.error().message;
  auto results = underFilter(*filter, [] {
    long result = 20;  // getpid
    asm volatile("int $0x80" : "+a"(result) : : "memory");
    return std::vector<int>{static_cast<int>(result)};
  });
  ASSERT_EQ(results.size(), 1u);
  int status = -results[0];
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(SeccompProfileCacheTest, CompilesEachCapabilitySetOnceAndKeepsTheNewest) {
  SeccompProfileCache cache;
  auto first = cache.get(defaultCapabilities());
  ASSERT_TRUE(first) << first.error().message;
  auto fresh = buildSeccompProfile(defaultCapabilities());
  ASSERT_TRUE(fresh);
  ASSERT_EQ((*first)->size(), fresh->size());
  EXPECT_EQ(memcmp((*first)->data(), fresh->data(), fresh->size() * sizeof(sock_filter)), 0);
  ASSERT_TRUE(cache.get(defaultCapabilities()));
  EXPECT_EQ(cache.compilations(), 1u);
  const CapabilitySet admin = defaultCapabilities() | (CapabilitySet{1} << CAP_SYS_ADMIN);
  auto other = cache.get(admin);
  ASSERT_TRUE(other);
  EXPECT_EQ(cache.compilations(), 2u);
  // Filling the cache evicts the least recently used set, not the default.
  ASSERT_TRUE(cache.get(defaultCapabilities()));
  for (size_t i = 0; cache.compilations() < SeccompProfileCache::kMaxProfiles + 1; ++i) {
    ASSERT_TRUE(cache.get(defaultCapabilities() | (CapabilitySet{1} << (CAP_SYS_ADMIN + 1 + i % 10)) |
                          (CapabilitySet{1} << (i / 10))));
    ASSERT_TRUE(cache.get(defaultCapabilities()));
  }
  uint64_t before = cache.compilations();
  ASSERT_TRUE(cache.get(defaultCapabilities()));
  EXPECT_EQ(cache.compilations(), before);
  ASSERT_TRUE(cache.get(admin));
  EXPECT_EQ(cache.compilations(), before + 1);
}

TEST(SeccompProfileCacheTest, TheExecutorUsesTheAgentsProgramOnlyForItsOwnCapabilities) {
  ContainerInfo container;
  auto caps = containerCapabilities(container);
  ASSERT_TRUE(caps) << caps.error().message;
  // A program that is not the profile, to tell which one the policy took.
  SeccompProgram given{*caps, {{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW}}};
  auto policy = SecurityPolicy::create(container, "/sandbox", {}, &given);
  ASSERT_TRUE(policy) << policy.error().message;
  ASSERT_EQ((*policy)->seccompFilter().size(), 1u);
  // Compiled for other capabilities: the executor compiles its own.
  given.capabilities = *caps | (CapabilitySet{1} << CAP_SYS_ADMIN);
  policy = SecurityPolicy::create(container, "/sandbox", {}, &given);
  ASSERT_TRUE(policy);
  auto own = buildSeccompProfile(*caps);
  ASSERT_TRUE(own);
  EXPECT_EQ((*policy)->seccompFilter().size(), own->size());
  // Unconfined and privileged containers get none, whatever the agent sent.
  container.seccompUnconfined = true;
  given.capabilities = *containerCapabilities(container);
  policy = SecurityPolicy::create(container, "/sandbox", {}, &given);
  ASSERT_TRUE(policy);
  EXPECT_FALSE((*policy)->seccomp());
}

}  // namespace
}  // namespace agora::agent
