#pragma once
// fork+exec for containers and tasks, with what common/subprocess.hpp does not
// offer: switching user, joining a new process group, joining cgroups from the
// child itself, and a parent-side hook that runs while the child is stopped
// just before exec (isolators attach the pid there), so nothing runs
// unisolated.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::agent {

class SecurityPolicy;

struct UserIds {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
  std::string home;
};

// Looks the user up in the passwd database. kNotFound for an unknown user.
Result<UserIds> resolveUser(const std::string& name);

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is the executable (PATH searched)
  std::vector<std::string> env;   // "K=V", the child's whole environment
  std::string cwd;                // empty: inherit
  std::string stdoutPath;         // empty: inherit; else appended to
  std::string stderrPath;
  bool newSession = false;       // setsid()
  bool newProcessGroup = false;  // setpgid(0, 0) (ignored with newSession)
  std::optional<UserIds> user;   // switch to this user before exec
  // Search argv[0] in the PATH of `env` rather than in ours (a container
  // with its own root filesystem and PATH).
  bool pathFromEnv = false;
  // Applied by the child around the user switch; null: none. Shared by the
  // copies of these options (it is only read).
  std::shared_ptr<const SecurityPolicy> security;
  // Files the child writes "0" into, in order, right after fork (one thread
  // then, so it moves itself whole): v1 cgroups' `tasks` files. A failure
  // fails the launch (kStepJoin, detail: the file's index).
  std::vector<std::string> joinFiles;
  // A descriptor of ours the child gets as descriptor 3 (kPassedFd), open
  // across exec; -1: none. Every other descriptor but 0-2 closes at exec.
  int passFd = -1;
  // Runs in the parent while the child waits before exec (after its joins).
  // An error kills the child and fails the launch. Unset: the child does not
  // wait for the parent.
  std::function<Status(pid_t)> beforeExec;
};

constexpr int kPassedFd = 3;

// Returns the pid once exec succeeded; an Error naming the failed step
// ("exec /bin/x: No such file or directory") otherwise. The caller reaps.
Result<pid_t> launchProcess(const ProcessOptions& options);

// Whether a child may run in its parent's memory until it execs
// (CLONE_VM | CLONE_VFORK, as posix_spawn does) instead of in a copy.
// AddressSanitizer keeps its own per-thread stack bounds and shadow memory,
// which a child on a stack of its own in our memory would confuse:
// sanitizer builds copy.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSpawnSharingMemory = false;
#else
inline constexpr bool kSpawnSharingMemory = true;
#endif
// The stack of such a child.
inline constexpr size_t kSharedChildStackBytes = 256 * 1024;

// A step a child process takes between fork and exec. A child that fails one
// writes a ChildFailure to its error pipe and exits with 127.
enum ChildStep : int {
  kStepSync = 1,
  kStepSession,
  kStepStdin,
  kStepStdout,
  kStepStderr,
  kStepChdir,
  kStepGroups,
  kStepGid,
  kStepUid,
  kStepExec,
  kStepJoin,  // ChildFailure::detail: the index of the ProcessOptions::joinFiles entry
  // Container init steps (agent/executor/container_init.hpp).
  kStepUserIds,
  kStepHostname,
  kStepLoopback,
  kStepFork,
  kStepRootfs,  // ChildFailure::detail: the index of the failed RootfsPlan step
  // Volume mounts (agent/executor/volume_mounts.hpp); detail is the mount's index.
  kStepMountTarget,
  kStepMount,
  kStepMountRemount,
  // Security policy steps (agent/executor/security_policy.hpp).
  kStepMaskPaths,
  kStepReadOnlyPaths,
  kStepReadOnlyRoot,
  kStepCapBounding,
  kStepCapabilities,
  kStepNoNewPrivs,
  kStepSeccomp,
  kStepPassFd,
  // Check probes (agent/executor/process_prober.hpp).
  kStepEnterNamespace,
};

struct ChildFailure {
  int step = 0;
  int err = 0;
  int detail = -1;  // step-specific (kStepRootfs, kStepJoin, mounts)
};

// Reports errno as failing `step` on `fd` and _exits 127. Async-signal-safe.
[[noreturn]] void failChild(int fd, int step);
[[noreturn]] void failChildAt(int fd, int step, int detail);

// Child side: moves the (single-threaded) calling process into each file's
// cgroup by writing "0" to it (ProcessOptions::joinFiles); a failure is
// reported on `errFd` as kStepJoin with the file's index. Async-signal-safe.
void joinCgroups(const std::vector<std::string>& files, int errFd);

// "exec /bin/x: No such file or directory".
Error describeChildFailure(const ChildFailure& failure, const ProcessOptions& options);

// Reads a ChildFailure from `fd` until EOF: nullopt when the other side
// closed its end without reporting one (exec succeeded).
std::optional<ChildFailure> readChildFailure(int fd);

// Everything a forked child needs to start `options`, prepared in the parent
// (the child may only make async-signal-safe calls): C argv/envp arrays and
// the opened stdio files. Not movable: the arrays point into its strings.
class PreparedProcess {
 public:
  static Result<std::unique_ptr<PreparedProcess>> create(ProcessOptions options);
  ~PreparedProcess();
  PreparedProcess(const PreparedProcess&) = delete;
  PreparedProcess& operator=(const PreparedProcess&) = delete;

  // Child side, after fork: resets signal dispositions and mask, joins a new
  // session or group, redirects stdio, changes directory and user, and
  // execs. Reports failures on `errFd`. Async-signal-safe.
  [[noreturn]] void exec(int errFd) const;

  // The parent's copies of the stdio files, closed once the child has them.
  void closeFiles();
  // Descriptors exec() uses (the ones a caller must not close in the child).
  std::vector<int> files() const { return {nullFd_, outFd_, errOutFd_}; }
  const ProcessOptions& options() const { return options_; }

 private:
  explicit PreparedProcess(ProcessOptions options);

  ProcessOptions options_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
  std::vector<std::string> candidates_;  // pathFromEnv: DIR/argv[0] for each PATH entry
  int nullFd_ = -1, outFd_ = -1, errOutFd_ = -1;
};

// The current environment as "K=V" strings.
std::vector<std::string> currentEnvironment();

}  // namespace agora::agent
