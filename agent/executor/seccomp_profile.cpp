#include "agent/executor/seccomp_profile.hpp"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

namespace agora::agent {

namespace {

constexpr int kNoCap = -1;

// A blocked system call, allowed when the container holds `cap` or `alt`.
struct Blocked {
  const char* name;
  int cap = kNoCap;
  int alt = kNoCap;
};

// Docker's default profile as a deny-list (x86_64).
constexpr Blocked kBlocked[] = {
    // Keyrings are not namespaced.
    {"add_key"}, {"keyctl"}, {"request_key"},
    // Kernel memory and global state.
    {"userfaultfd"}, {"swapon"}, {"swapoff"}, {"_sysctl"}, {"sysfs"}, {"ustat"},
    {"uselib"}, {"nfsservctl"}, {"create_module"}, {"get_kernel_syms"}, {"query_module"},
    {"vm86"}, {"vm86old"}, {"afs_syscall"}, {"getpmsg"}, {"putpmsg"}, {"security"},
    {"tuxcall"}, {"vserver"},
    {"acct", CAP_SYS_PACCT},
    {"bpf", CAP_SYS_ADMIN, CAP_BPF},
    {"perf_event_open", CAP_SYS_ADMIN, CAP_PERFMON},
    {"lookup_dcookie", CAP_SYS_ADMIN},
    {"quotactl", CAP_SYS_ADMIN}, {"quotactl_fd", CAP_SYS_ADMIN},
    {"fanotify_init", CAP_SYS_ADMIN},
    {"syslog", CAP_SYS_ADMIN, CAP_SYSLOG},
    {"sethostname", CAP_SYS_ADMIN}, {"setdomainname", CAP_SYS_ADMIN},
    // Mounts and namespaces.
    {"mount", CAP_SYS_ADMIN}, {"umount2", CAP_SYS_ADMIN}, {"pivot_root", CAP_SYS_ADMIN},
    {"fsopen", CAP_SYS_ADMIN}, {"fsconfig", CAP_SYS_ADMIN}, {"fsmount", CAP_SYS_ADMIN},
    {"fspick", CAP_SYS_ADMIN}, {"move_mount", CAP_SYS_ADMIN}, {"open_tree", CAP_SYS_ADMIN},
    {"mount_setattr", CAP_SYS_ADMIN},
    {"unshare", CAP_SYS_ADMIN}, {"setns", CAP_SYS_ADMIN},
    {"name_to_handle_at", CAP_SYS_ADMIN},
    {"open_by_handle_at", CAP_DAC_READ_SEARCH},
    {"chroot", CAP_SYS_CHROOT},
    // Modules, kexec, reboot.
    {"init_module", CAP_SYS_MODULE}, {"finit_module", CAP_SYS_MODULE},
    {"delete_module", CAP_SYS_MODULE},
    {"kexec_load", CAP_SYS_BOOT}, {"kexec_file_load", CAP_SYS_BOOT}, {"reboot", CAP_SYS_BOOT},
    // Clocks (adjtimex stays: reading is harmless, setting needs SYS_TIME).
    {"settimeofday", CAP_SYS_TIME}, {"clock_settime", CAP_SYS_TIME},
    {"clock_adjtime", CAP_SYS_TIME},
    // Raw I/O ports, other processes, NUMA policy, terminals.
    {"ioperm", CAP_SYS_RAWIO}, {"iopl", CAP_SYS_RAWIO},
    {"kcmp", CAP_SYS_PTRACE}, {"pidfd_getfd", CAP_SYS_PTRACE},
    {"process_madvise", CAP_SYS_PTRACE},
    {"get_mempolicy", CAP_SYS_NICE}, {"mbind", CAP_SYS_NICE}, {"set_mempolicy", CAP_SYS_NICE},
    {"vhangup", CAP_SYS_TTY_CONFIG},
};

constexpr unsigned long kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                                             CLONE_NEWCGROUP};

// personality() accepts PER_LINUX (0), PER_LINUX32 (8), UNAME26 (0x20000),
// both (0x20008) and the query 0xffffffff.
constexpr uint64_t kPersonalityBits = 0x20008;
constexpr uint64_t kPersonalityQuery = 0xffffffff;

bool holds(CapabilitySet set, int cap) { return cap != kNoCap && ((set >> cap) & 1) != 0; }

using FilterPtr = std::unique_ptr<void, decltype(&seccomp_release)>;

Status rule(scmp_filter_ctx ctx, uint32_t action, int syscall, std::initializer_list<scmp_arg_cmp> args,
            const char* name) {
  int rc = seccomp_rule_add_array(ctx, action, syscall, static_cast<unsigned>(args.size()),
                                  args.size() == 0 ? nullptr : args.begin());
  if (rc != 0) return makeError(errnoError(std::string("seccomp rule for ") + name, -rc));
  return {};
}

// libseccomp compares each argument at most once per rule, so "arg0 not in
// the allowed set" is spelled as rules that each match one bit pattern no
// allowed value has: a value below 2^32 is allowed iff its bits are within
// kPersonalityBits or all set. Any other value has a bit b outside them set
// and, walking up from b (mod 32), a clear bit; the last bit outside
// kPersonalityBits before that clear one is set, followed by zero or one
// allowed bit set and then a clear bit. One rule per such pattern.
Status blockPersonalities(scmp_filter_ctx ctx, int nr) {
  const uint32_t action = SCMP_ACT_ERRNO(EPERM);
  if (Status s = rule(ctx, action, nr, {SCMP_A0(SCMP_CMP_GT, kPersonalityQuery)}, "personality"); !s) {
    return s;
  }
  auto bit = [](int b) { return uint64_t{1} << (b % 32); };
  for (int b = 0; b < 32; ++b) {
    if (bit(b) & kPersonalityBits) continue;
    if (Status s = rule(ctx, action, nr, {SCMP_A0(SCMP_CMP_MASKED_EQ, bit(b) | bit(b + 1), bit(b))},
                        "personality");
        !s) {
      return s;
    }
    if ((bit(b + 1) & kPersonalityBits) == 0) continue;
    uint64_t mask = bit(b) | bit(b + 1) | bit(b + 2);
    if (Status s = rule(ctx, action, nr,
                        {SCMP_A0(SCMP_CMP_MASKED_EQ, mask, bit(b) | bit(b + 1))}, "personality");
        !s) {
      return s;
    }
  }
  return {};
}

Status addRules(scmp_filter_ctx ctx, CapabilitySet caps) {
  for (const Blocked& b : kBlocked) {
    if (holds(caps, b.cap) || holds(caps, b.alt)) continue;
    int nr = seccomp_syscall_resolve_name(b.name);
    if (nr < 0) continue;  // not a system call of this architecture
    if (Status s = rule(ctx, SCMP_ACT_ERRNO(EPERM), nr, {}, b.name); !s) return s;
  }
  if (!holds(caps, CAP_SYS_ADMIN)) {
    for (unsigned long flag : kNamespaceFlags) {
      if (Status s = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone),
                          {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)}, "clone");
          !s) {
        return s;
      }
    }
    if (Status s = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), {}, "clone3"); !s) return s;
  }
  return blockPersonalities(ctx, SCMP_SYS(personality));
}

Result<std::vector<sock_filter>> exportFilter(scmp_filter_ctx ctx) {
  int fd = memfd_create("agora-seccomp", MFD_CLOEXEC);
  if (fd < 0) return makeError(errnoError("memfd_create", errno));
  std::vector<sock_filter> program;
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = lseek(fd, 0, SEEK_END);
  if (rc == 0 && size > 0 && size % static_cast<off_t>(sizeof(sock_filter)) == 0) {
    program.resize(static_cast<size_t>(size) / sizeof(sock_filter));
    if (pread(fd, program.data(), static_cast<size_t>(size), 0) != size) program.clear();
  }
  close(fd);
  if (rc != 0) return makeError(errnoError("seccomp_export_bpf", -rc));
  if (program.empty()) return makeError(ErrorCode::kInternal, "seccomp_export_bpf wrote no program");
  return program;
}

}  // namespace

Result<std::vector<sock_filter>> buildSeccompProfile(CapabilitySet capabilities) {
  FilterPtr ctx(seccomp_init(SCMP_ACT_ALLOW), &seccomp_release);
  if (!ctx) return makeError(ErrorCode::kInternal, "seccomp_init failed");
  // The child sets no_new_privs itself, before loading.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return makeError(errnoError("seccomp_attr_set", -rc));
  if (Status s = addRules(ctx.get(), capabilities); !s) {
    return makeError(s.error().withContext("build the seccomp profile"));
  }
  return exportFilter(ctx.get());
}

Result<const std::vector<sock_filter>*> SeccompProfileCache::get(CapabilitySet capabilities) {
  auto found = profiles_.find(capabilities);
  if (found != profiles_.end()) {
    found->second.first = ++uses_;
    return &found->second.second;
  }
  auto program = buildSeccompProfile(capabilities);
  if (!program) return makeError(program.error());
  ++compilations_;
  if (profiles_.size() >= kMaxProfiles) {
    auto oldest = std::min_element(profiles_.begin(), profiles_.end(), [](const auto& a, const auto& b) {
      return a.second.first < b.second.first;
    });
    profiles_.erase(oldest);
  }
  auto& slot = profiles_[capabilities];
  slot = {++uses_, std::move(*program)};
  return &slot.second;
}

}  // namespace agora::agent
