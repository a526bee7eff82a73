#pragma once
// The default seccomp profile of namespaced containers, compiled to classic
// BPF in the parent (libseccomp) so that the child only has to load it.
//
// The profile blocks, with EPERM, what Docker's default profile blocks on
// x86_64: system calls that reach the host kernel's global state (modules,
// kexec, reboot, swap, clock, accounting, keyrings, bpf, perf, userfaultfd,
// quotas, kernel log, raw I/O ports, obsolete calls) and the ones that
// create or enter namespaces or mount filesystems. As in Docker, a call
// tied to a capability is allowed when the container holds it (mount with
// SYS_ADMIN, reboot with SYS_BOOT, ...). Unlike Docker's allow-list this is
// a deny-list: a system call newer than the table is allowed and left to
// capability checks. Table in seccomp_profile.cpp.
//
// Decisions:
// - ptrace, process_vm_readv/writev are allowed (Docker allows them on
//   kernels >= 4.8, where seccomp re-checks a call after the tracer changed
//   it): a container can debug its own processes; the pid namespace keeps
//   everyone else's out of reach.
// - clone is allowed without namespace flags; clone3 fails with ENOSYS (its
//   flags are in memory seccomp cannot read) so libc falls back to clone.
// - personality only for PER_LINUX, PER_LINUX32, UNAME26 (and both) and the
//   query 0xffffffff.
// - Only the native x86_64 ABI: a call through the i386 (int 0x80) or x32
//   ABI kills the process, so no ABI lets a blocked call slip through under
//   another number.

#include <linux/filter.h>

#include <map>
#include <vector>

#include "common/capabilities.hpp"
#include "common/result.hpp"

namespace agora::agent {

// The profile for a container holding `capabilities`, as BPF instructions.
Result<std::vector<sock_filter>> buildSeccompProfile(CapabilitySet capabilities);

// Profiles by capability set, each compiled once: an agent's containers use
// a few sets over and over, and compiling takes about a millisecond. Holds
// at most kMaxProfiles (tasks choose their sets; the oldest goes first).
// Thread: one user at a time.
class SeccompProfileCache {
 public:
  static constexpr size_t kMaxProfiles = 64;

  // The profile for `capabilities`; valid until the next call.
  Result<const std::vector<sock_filter>*> get(CapabilitySet capabilities);
  // How many profiles were compiled so far.
  uint64_t compilations() const { return compilations_; }

 private:
  std::map<CapabilitySet, std::pair<uint64_t, std::vector<sock_filter>>> profiles_;  // by set: (use, program)
  uint64_t uses_ = 0;
  uint64_t compilations_ = 0;
};

}  // namespace agora::agent
