// What a task without an image may do to the host's filesystem and
// devices, attacked from real containers: tasks in their own namespaces, started by a real
// Agent through real agora-executor processes, try to write outside what is
// theirs and report each outcome (agora-escape-probe prints the errno) into
// their sandbox. Needs root; skips otherwise. After each test no mount of
// the containers is left on the host and every file they could have made
// there is gone.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "agent/executor/namespace_task_runner.hpp"
#include "agent/paths.hpp"
#include "agent/volumes.hpp"
#include "tests/agent/real_agent_harness.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

const std::string kProbe = std::string(AGORA_BIN_DIR) + "/agora-escape-probe";
constexpr uid_t kNobody = 65534;

std::string mountTable() {
  std::ifstream in("/proc/self/mountinfo");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "KEY VALUE" lines as a map.
std::map<std::string, std::string> fields(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (!key.empty()) out[key] = value;
  }
  return out;
}

// What the task's /dev holds (rootfs_setup.hpp).
std::set<std::string> allowedDevEntries() {
  std::set<std::string> out = {"fd",     "full",  "null",   "ptmx", "pts",     "random", "shm",
                               "stderr", "stdin", "stdout", "tty",  "urandom", "zero"};
  std::ifstream in("/proc/filesystems");
  for (std::string line; std::getline(in, line);) {
    if (line.ends_with("\tmqueue")) out.insert("mqueue");
  }
  return out;
}

// The host's block devices (/dev/loop0, the disks) and the character
// devices that reach its hardware or kernel, those it has, at most 64.
std::vector<std::string> hostDevices() {
  std::vector<std::string> out;
  for (const char* dir : {"/dev", "/dev/block", "/dev/mapper"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      struct stat st {};
      if (stat(entry.path().c_str(), &st) == 0 && S_ISBLK(st.st_mode) && out.size() < 48) {
        out.push_back(entry.path());
      }
    }
  }
  for (const char* dev :
       {"kvm",           "fuse",           "mem",     "kmem",      "port",  "loop-control",
        "btrfs-control", "mapper/control", "net/tun", "vhost-net", "kmsg",  "userfaultfd",
        "cpu",           "console",        "tty0",    "ttyS0",     "vsock", "watchdog",
        "rtc0",          "hwrng"}) {
    std::string path = std::string("/dev/") + dev;
    if (fs::exists(path) && out.size() < 64) out.push_back(path);
  }
  return out;
}

class HostFilesystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    // Outside /tmp: the task's /tmp is its own.
    char work[] = "/var/tmp/agora-hostfs-work-XXXXXX";
    char host[] = "/var/tmp/agora-hostfs-host-XXXXXX";
    workDir_ = mkdtemp(work);
    hostDir_ = mkdtemp(host);
    ASSERT_TRUE(paths::makeDirs(paths::sandboxesRoot(workDir_)));
    // Writable by anyone: only the container's view may refuse the writes.
    ASSERT_EQ(chmod(hostDir_.c_str(), 0777), 0);
    for (const char* dir : {"allowed/rw", "allowed/ro", "rw-target"}) {
      fs::create_directories(hostDir_ + "/" + dir);
    }
    // A copy of the probe any task user can run.
    probe_ = hostDir_ + "/agora-escape-probe";
    ASSERT_TRUE(fs::copy_file(kProbe, probe_));
    fs::permissions(probe_, fs::perms(0755));
    mark_ = "agora-hostfs-" + std::to_string(getpid());
    hostMounts_ = mountTable();
  }

  void TearDown() override {
    if (agent_) {
      EXPECT_TRUE(agent_->destroyAll());
    }
    agent_.reset();
    EXPECT_EQ(mountTable(), hostMounts_) << "a container's mount leaked to the host";
    for (const std::string& planted : {"/etc/" + mark_, "/tmp/" + mark_}) {
      EXPECT_FALSE(fs::exists(planted)) << "a task wrote the host's " << planted;
      fs::remove(planted);
    }
    if (!workDir_.empty()) fs::remove_all(workDir_);
    if (!hostDir_.empty()) fs::remove_all(hostDir_);
  }

  void startAgent() {
    auto allowed = HostPathPolicy::parse(hostDir_ + "/allowed");
    ASSERT_TRUE(allowed) << allowed.error().message;
    agent_ = std::make_unique<testing::RealAgentHarness>(
        workDir_, /*namespaces=*/true, std::vector<std::unique_ptr<Isolator>>{}, "",
        std::move(*allowed));
    ASSERT_EQ(agent_->error(), "");
  }

  // Runs `script` (with $P set to the probe) to completion; returns what it
  // wrote to its sandbox's `out`.
  std::string output(const std::string& taskId, const std::string& script,
                     ContainerInfo container = {}, const std::string& user = "") {
    TaskInfo task;
    task.taskId = taskId;
    task.command.value = "P=" + probe_ + "; { " + script + "; } > out 2>&1";
    task.command.user = user;
    task.container = std::move(container);
    agent_->launch(task);
    const TaskStatus* t = agent_->waitTerminal(taskId);
    if (t == nullptr) {
      ADD_FAILURE() << taskId << " did not end";
      return "";
    }
    EXPECT_EQ(t->state, TaskState::FINISHED) << taskId << ": " << t->message;
    std::string out = agent_->readSandbox(taskId, "out");
    std::cerr << "--- " << taskId << " wrote:\n" << out;
    return out;
  }

  std::string workDir_, hostDir_, probe_, mark_;
  std::string hostMounts_;
  std::unique_ptr<testing::RealAgentHarness> agent_;
};

TEST_F(HostFilesystemTest, ATaskWithoutAnImageCannotWriteTheHostOutsideItsSandbox) {
  startAgent();
  ContainerInfo userns;
  userns.userNamespace = true;
  const struct {
    const char* id;
    ContainerInfo container;
    const char* user;
  } attackers[] = {{"root", {}, ""}, {"userns", userns, ""}, {"nobody", {}, "nobody"}};
  for (const auto& a : attackers) {
    const std::string planted = hostDir_ + "/" + a.id;
    auto result = fields(output(
        a.id,
        "echo dir $($P create " + planted + "); echo etc $($P create /etc/" + mark_ +
            "); echo shadow $(cat /etc/shadow > /dev/null 2>&1 && echo read || echo refused)",
        a.container, a.user));
    EXPECT_EQ(result["dir"], "EROFS") << a.id;
    EXPECT_EQ(result["etc"], "EROFS") << a.id;
    if (std::string(a.user) == "nobody") {
      EXPECT_EQ(result["shadow"], "refused");
    }
    EXPECT_FALSE(fs::exists(planted)) << a.id << " wrote " << planted;
  }
}

TEST_F(HostFilesystemTest, TmpIsTheTasksOwnInItsSandboxNotTheHosts) {
  startAgent();
  const std::string hostFile = "/tmp/" + mark_ + "-host";
  std::ofstream(hostFile) << "host\n";
  auto result = fields(output("tmp", "echo seen $(cat " + hostFile +
                                         " 2>/dev/null || echo no); echo task > /tmp/" + mark_ +
                                         "; echo mode $(stat -c %a /tmp)"));
  fs::remove(hostFile);
  EXPECT_EQ(result["seen"], "no");
  EXPECT_EQ(result["mode"], "1777");
  const std::string own = std::string(kSandboxTmpDir) + "/" + mark_;
  EXPECT_EQ(agent_->readSandbox("tmp", own), "task\n");
  // TearDown checks the host's /tmp has no such file.
}

TEST_F(HostFilesystemTest, TheSandboxAndAReadWriteVolumeStayWritableAndAReadOnlyVolumeDoesNot) {
  startAgent();
  ContainerInfo container;
  container.volumes = {Volume::hostPath(hostDir_ + "/allowed/rw", hostDir_ + "/rw-target"),
                       Volume::hostPath(hostDir_ + "/allowed/ro", "ro", true)};
  auto result = fields(output("volumes",
                              "echo sandbox $($P create $PWD/f); echo rw $($P create " + hostDir_ +
                                  "/rw-target/f); echo ro $($P create ro/f); echo beside $($P "
                                  "create " + hostDir_ + "/beside)",
                              container));
  EXPECT_EQ(result["sandbox"], "ok");
  EXPECT_EQ(result["rw"], "ok");
  EXPECT_EQ(result["ro"], "EROFS");
  // Next to the volume the host stays read-only.
  EXPECT_EQ(result["beside"], "EROFS");
  EXPECT_TRUE(fs::exists(agent_->sandboxOf("volumes") + "/f"));
  EXPECT_TRUE(fs::exists(hostDir_ + "/allowed/rw/f"));
  EXPECT_FALSE(fs::exists(hostDir_ + "/allowed/ro/f"));
  EXPECT_FALSE(fs::exists(hostDir_ + "/beside"));
}

TEST_F(HostFilesystemTest, ATaskRunAsNobodyWritesItsSandboxAndTmp) {
  startAgent();
  auto result = fields(output("nobody", "echo sandbox $($P create f); echo tmp $($P create /tmp/" +
                                            mark_ + ")",
                              {}, "nobody"));
  EXPECT_EQ(result["sandbox"], "ok");
  EXPECT_EQ(result["tmp"], "ok");
  const std::string sandbox = agent_->sandboxOf("nobody");
  struct stat st {};
  ASSERT_EQ(stat((sandbox + "/" + kSandboxTmpDir).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  ASSERT_EQ(stat((sandbox + "/" + kSandboxTmpDir + "/" + mark_).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
}

// CAP_MKNOD is in the default set: a block device node made where the task
// may write would open the host's disks. /dev/null's numbers stand in for
// one here; the task's own /dev/null, made the same, still works.
TEST_F(HostFilesystemTest, ADeviceNodeMadeInTheSandboxTmpOrDevOpensNothing) {
  startAgent();
  ContainerInfo volume;
  volume.volumes = {Volume::tmpfs("scratch", 4)};
  auto result = fields(output(
      "mknod",
      "for d in . /tmp /dev /dev/shm scratch; do mknod $d/node c 1 3 && echo made$d yes; "
      "echo open$d $($P open_rw $d/node); done; echo null $($P open_rw /dev/null); "
      "echo zero $(head -c 8 /dev/zero | wc -c); echo urandom $(head -c 8 /dev/urandom | wc -c)",
      volume));
  for (const std::string dir : {".", "/tmp", "/dev", "/dev/shm", "scratch"}) {
    // Made or not (/dev/shm is nodev already), it must not open.
    EXPECT_EQ(result["open" + dir], result.count("made" + dir) ? "EACCES" : "ENOENT") << dir;
  }
  EXPECT_EQ(result["made."], "yes");
  EXPECT_EQ(result["made/dev"], "yes");
  EXPECT_EQ(result["null"], "ok");
  EXPECT_EQ(result["zero"], "8");
  EXPECT_EQ(result["urandom"], "8");
}

// The attack: root, no privileges asked, goes for the host's disks, loop
// devices, kvm, fuse and memory. Its /dev holds only the nodes it needs,
// and a node left anywhere on the host's filesystem opens nothing (a
// read-only mount does not stop writes to a device node).
TEST_F(HostFilesystemTest, ARootTaskReachesNoDeviceOfTheHost) {
  const std::vector<std::string> devices = hostDevices();
  const std::string planted = hostDir_ + "/planted-null";
  ASSERT_EQ(mknod(planted.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  int fd = open(planted.c_str(), O_RDWR | O_CLOEXEC);
  const bool hostOpensPlanted = fd >= 0;  // false where the host mounts /var/tmp nodev
  if (fd >= 0) close(fd);
  std::string script =
      "for f in $(ls -A /dev); do echo entry-$f yes; done; "
      // find trusts readdir's types: a bound node is a file there.
      "for f in /dev/* /dev/pts/* /dev/shm/* /dev/mqueue/*; do "
      "if [ -b $f ] || [ -c $f ]; then echo node-$f $($P open_rw $f); fi; done; ";
  std::string targets = planted;
  for (const std::string& dev : devices) targets += " " + dev;
  script += "for f in " + targets + "; do echo $f $($P open_rw $f); done";
  startAgent();
  ContainerInfo userns;
  userns.userNamespace = true;
  const std::set<std::string> allowed = allowedDevEntries();
  for (const auto& [id, container] : {std::pair<std::string, ContainerInfo>{"root", {}},
                                      std::pair<std::string, ContainerInfo>{"userns", userns}}) {
    auto result = fields(output("devices-" + id, script, container));
    std::set<std::string> entries;
    for (const auto& [key, value] : result) {
      if (key.starts_with("entry-")) entries.insert(key.substr(6));
      if (!key.starts_with("node-")) continue;
      // Every device node the task finds is one it was given, or a pty.
      std::string node = key.substr(5);
      EXPECT_TRUE(node.starts_with("/dev/pts/") ||
                  allowed.count(node.substr(std::string("/dev/").size())))
          << id << " reaches " << node << " (" << value << ")";
    }
    EXPECT_EQ(entries, allowed) << id;
    EXPECT_EQ(result["node-/dev/null"], "ok") << id;
    EXPECT_EQ(result["node-/dev/urandom"], "ok") << id;
    for (const std::string& dev : devices) {
      EXPECT_EQ(result[dev], "ENOENT") << id << " opened the host's " << dev;
    }
    if (hostOpensPlanted) {
      EXPECT_EQ(result[planted], "EACCES") << id << " opened a node on the host's filesystem";
    }
  }
}

// It holds every capability, so it could remount the host's filesystem
// writable anyway: it keeps the writable view it always had, the host's
// /dev included.
TEST_F(HostFilesystemTest, APrivilegedTaskStillWritesTheHost) {
  startAgent();
  ContainerInfo privileged;
  privileged.privileged = true;
  const std::vector<std::string> devices = hostDevices();
  const std::string device = devices.empty() ? "/dev/null" : devices.front();
  const std::string script = "echo dir $($P create " + hostDir_ + "/privileged); " +
                             "echo dev $(test -e " + device + " && echo host)";
  auto result = fields(output("privileged", script, privileged));
  EXPECT_EQ(result["dir"], "ok");
  EXPECT_EQ(result["dev"], "host") << "the host's /dev, with " << device;
  EXPECT_TRUE(fs::exists(hostDir_ + "/privileged"));
}

}  // namespace
}  // namespace agora::agent
