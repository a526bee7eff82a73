#include "benchmarks/container_floor.hpp"

#include <fcntl.h>
#include <glog/logging.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

#include "agent/cgroups/cgroups_detect.hpp"

namespace agora::bench {

namespace {

namespace fs = std::filesystem;

// What the child does, prepared by the parent (the child only makes
// system calls).
struct FloorChild {
  std::vector<std::string> joinFiles;
  std::string merged, overlayData, proc, dev;
  int errFd = -1;
};

struct Failure {
  int step = 0;
  int err = 0;
};

[[noreturn]] void fail(int fd, int step) {
  Failure f{step, errno};
  ssize_t n = write(fd, &f, sizeof(f));
  (void)n;
  _exit(127);
}

int floorChild(void* arg) {
  const auto& c = *static_cast<const FloorChild*>(arg);
  for (const auto& file : c.joinFiles) {
    int fd = open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) fail(c.errFd, 1);
    close(fd);
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(c.errFd, 2);
  if (mount("overlay", c.merged.c_str(), "overlay", MS_NODEV, c.overlayData.c_str()) != 0) {
    fail(c.errFd, 3);
  }
  if (mount("proc", c.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    fail(c.errFd, 4);
  }
  if (mount("tmpfs", c.dev.c_str(), "tmpfs", MS_NOSUID, "mode=755") != 0) fail(c.errFd, 5);
  if (chdir(c.merged.c_str()) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
      umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) {
    fail(c.errFd, 6);
  }
  char* argv[] = {const_cast<char*>("/bin/busybox"), const_cast<char*>("true"), nullptr};
  char* envp[] = {nullptr};
  execve(argv[0], argv, envp);
  fail(c.errFd, 7);
}

// The image's one layer: busybox and the mount points.
std::string makeLower(const std::string& dir) {
  std::string lower = dir + "/lower";
  for (const char* sub : {"/bin", "/proc", "/dev"}) fs::create_directories(lower + sub);
  fs::copy_file("/bin/busybox", lower + "/bin/busybox", fs::copy_options::overwrite_existing);
  return lower;
}

double threadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

double childrenCpuMs() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

}  // namespace

FloorFigures measureContainerFloor(int runs, const std::string& dir) {
  auto cgroups = agent::cgroups::detectCgroups();
  CHECK(cgroups) << cgroups.error().message;
  auto& cg = **cgroups;
  const std::string group = "agora-floor-" + std::to_string(getpid());
  const std::string lower = makeLower(dir);
  agent::cgroups::CgroupLimits limits;
  limits.cpus = 0.01;
  limits.memoryBytes = 64ull << 20;
  limits.pidsMax = 1024;
  auto stack = std::make_unique<char[]>(64 * 1024);
  FloorFigures out;
  double cpuMs = 0;
  for (int i = 0; i < runs; ++i) {
    const std::string name = group + "/" + std::to_string(i);
    const std::string root = dir + "/c" + std::to_string(i);
    FloorChild child;
    child.merged = root + "/merged";
    child.proc = child.merged + "/proc";
    child.dev = child.merged + "/dev";
    child.overlayData =
        "lowerdir=" + lower + ",upperdir=" + root + "/upper,workdir=" + root + "/work,volatile";
    int pipeFds[2];
    PCHECK(pipe2(pipeFds, O_CLOEXEC) == 0);
    child.errFd = pipeFds[1];

    double cpu0 = threadCpuMs() + childrenCpuMs();
    auto start = std::chrono::steady_clock::now();
    CHECK(cg.create(name)) << "cgroup " << name;
    CHECK(cg.setLimits(name, limits)) << "cgroup limits " << name;
    child.joinFiles = cg.joinFiles(name);
    for (const char* sub : {"", "/upper", "/work", "/merged"})
      PCHECK(mkdir((root + sub).c_str(), 0755) == 0);
    pid_t pid = clone(floorChild, stack.get() + 64 * 1024,
                      CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, &child);
    PCHECK(pid > 0) << "clone";
    close(pipeFds[1]);
    Failure failure;
    ssize_t n;
    do {
      n = read(pipeFds[0], &failure, sizeof(failure));
    } while (n < 0 && errno == EINTR);
    out.ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    close(pipeFds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    cpuMs += threadCpuMs() + childrenCpuMs() - cpu0;
    CHECK(n == 0) << "container floor: step " << failure.step
                  << " failed: " << std::strerror(failure.err);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "busybox true: status " << status;
    CHECK(cg.remove(name)) << "remove cgroup " << name;
    fs::remove_all(root);
  }
  CHECK(cg.remove(group));
  fs::remove_all(lower);
  out.cpuMs = runs > 0 ? cpuMs / runs : 0;
  return out;
}

}  // namespace agora::bench
