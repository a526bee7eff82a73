// Tasks started from OCI / Docker images by a real Agent with real
// agora-executor processes: busybox images built in the test (from the host's
// busybox-static), pulled from OCI layouts, docker-archives and a real
// docker-registry on 127.0.0.1, run in an overlay root filesystem with their
// own /dev, /proc, /sys, /tmp. Needs root; skips otherwise. After every test
// no mount of the test's directories is left on the host.

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agent/images/digest.hpp"
#include "tests/agent/images/image_builder.hpp"
#include "tests/agent/images/local_registry.hpp"
#include "tests/agent/real_agent_harness.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;
using namespace images::testing;

// Host mounts whose mount point or source mentions `path`.
std::vector<std::string> hostMountsUnder(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (line.find(path) != std::string::npos) out.push_back(line);
  }
  return out;
}

// "KEY=VALUE" lines of a facts file.
std::map<std::string, std::string> facts(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// Mount point -> "FSTYPE OPTIONS" from a /proc/self/mountinfo dump.
std::map<std::string, std::string> mountTable(const std::string& mountinfo) {
  std::map<std::string, std::string> out;
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, options, word;
    if (!(fields >> id >> parent >> dev >> root >> point >> options)) continue;
    while (fields >> word && word != "-") {
    }
    std::string fstype;
    fields >> fstype;
    out[point] = fstype + " " + options;
  }
  return out;
}

bool kernelHasMqueue() {
  std::ifstream in("/proc/filesystems");
  for (std::string line; std::getline(in, line);) {
    if (line.ends_with("\tmqueue")) return true;
  }
  return false;
}

constexpr const char* kAppScript =
    "{ echo \"pwd=$(pwd)\"; echo \"ids=$(busybox id -u):$(busybox id -g)\"; "
    "echo \"home=$HOME\"; echo \"greeting=$GREETING\"; echo \"override=$OVERRIDE\"; "
    "echo \"sandbox=$AGORA_SANDBOX\"; echo \"args=$0 $*\"; } > $AGORA_SANDBOX/facts";

// Run as root in the probe image: what the container's filesystem looks like.
constexpr const char* kLayoutScript =
    "{ echo \"dev=$(busybox ls /dev | busybox tr '\\n' ' ')\"; "
    "busybox touch /sys/agora-probe 2>/dev/null && echo sys=writable; "
    "echo x > /dev/null && echo devnull=ok; "
    "test -e /etc/debian_version && echo host-file=visible; "
    "test -e \"$HOSTPATH\" && echo host-path=visible; "
    "echo \"hello=$(busybox cat /etc/hello)\"; "
    "echo \"hostname=$(busybox cat /etc/hostname) $(busybox hostname)\"; "
    "echo \"pwd=$(pwd)\"; "
    "} > $AGORA_SANDBOX/facts 2>&1; busybox cat /proc/self/mountinfo > $AGORA_SANDBOX/mounts";

class ImageContainersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, overlay mounts)";
    char tmpl[] = "/tmp/agora-imgct-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (const char* sub : {"/work", "/src"}) fs::create_directories(root_ + sub);
    base_ = makeLayer(busyboxLayer(), /*gzip=*/true);
    app_ = makeLayer({dir("etc"),
                      file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                         "app:x:1234:1234:app:/home/app:/bin/sh\n"),
                      file("etc/group", "root:x:0:\napp:x:1234:\n"), dir("home"),
                      dir("home/app")},
                     /*gzip=*/false);
    config_ = makeConfig({base_, app_}, {"/bin/sh", "-c"}, {kAppScript});
    config_["config"]["Env"] = {"PATH=/bin", "GREETING=from-image", "OVERRIDE=image"};
    config_["config"]["WorkingDir"] = "/data";
    config_["config"]["User"] = "app";
    OciLayout layout(root_ + "/src/layout");
    layout.addImage({base_, app_}, config_, "probe");
    layout_ = layout.dir();
    startAgent(true);
  }

  void TearDown() override {
    harness_.reset();
    if (root_.empty()) return;
    EXPECT_EQ(hostMountsUnder(root_), std::vector<std::string>{});
    for (const auto& line : hostMountsUnder(root_)) {
      std::istringstream fields(line);
      std::string skip, point;
      fields >> skip >> skip >> skip >> skip >> point;
      umount2(point.c_str(), MNT_DETACH);
    }
    fs::remove_all(root_);
  }

  void startAgent(bool namespaces, bool memoryLayer = false) {
    harness_.reset();
    harness_ = std::make_unique<testing::RealAgentHarness>(
        root_ + "/work", namespaces, std::vector<std::unique_ptr<Isolator>>{},
        namespaces ? root_ + "/store" : "", HostPathPolicy{}, /*checkpoint=*/true, root_ + "/run",
        /*maxStarting=*/0, /*forkServer=*/true, memoryLayer);
    ASSERT_EQ(harness_->error(), "");
  }

  std::string probe() const { return "oci:" + layout_ + ":probe"; }

  static TaskInfo task(const std::string& id, const std::string& image) {
    TaskInfo t;
    t.taskId = id;
    t.resources.setScalar("cpus", 0.1);
    t.resources.setScalar("mem", 32);
    t.container.image = image;
    return t;
  }
  static TaskInfo shellTask(const std::string& id, const std::string& image,
                            const std::string& script) {
    TaskInfo t = task(id, image);
    t.command.shell = true;
    t.command.value = script;
    t.command.user = "root";
    return t;
  }

  // Runs `t` to FINISHED; false (with a test failure) otherwise.
  bool runToCompletion(const TaskInfo& t) {
    harness_->launch(t);
    const TaskStatus* end = harness_->waitTerminal(t.taskId, seconds(30));
    EXPECT_NE(end, nullptr) << t.taskId << " did not end";
    if (end == nullptr) return false;
    EXPECT_EQ(end->state, TaskState::FINISHED)
        << taskStateName(end->state) << ": " << end->message
        << "\nstderr: " << harness_->readSandbox(t.taskId, "stderr");
    return end->state == TaskState::FINISHED;
  }

  // A task that fails to launch: its message.
  std::string launchFailure(const TaskInfo& t) {
    harness_->launch(t);
    const TaskStatus* end = harness_->waitTerminal(t.taskId, seconds(30));
    if (end == nullptr) return "no terminal update";
    EXPECT_EQ(end->state, TaskState::FAILED) << end->message;
    EXPECT_EQ(end->reason, TaskReason::CONTAINER_LAUNCH_FAILED) << end->message;
    return end->message;
  }

  // The writable layer (work dir) and the mount point (runtime dir).
  std::string rootfsOf(const std::string& taskId) const {
    return paths::rootfsDir(root_ + "/work", harness_->containerOf(taskId));
  }
  std::string mountPointDirOf(const std::string& taskId) const {
    return paths::rootfsDir(root_ + "/run", harness_->containerOf(taskId));
  }

  // The container ended and left neither its overlay dirs nor a mount.
  void expectCleanedUp(const std::string& taskId) {
    for (const std::string& dir : {rootfsOf(taskId), mountPointDirOf(taskId)}) {
      EXPECT_TRUE(harness_->runUntil([&] { return !fs::exists(dir); }, seconds(10)))
          << dir << " was not removed";
    }
    EXPECT_EQ(hostMountsUnder(root_), std::vector<std::string>{});
  }

  std::string root_, layout_;
  Layer base_, app_;
  nlohmann::json config_;
  std::unique_ptr<testing::RealAgentHarness> harness_;
};

TEST_F(ImageContainersTest, HonoursTheImageEntrypointCmdEnvWorkingDirAndUser) {
  TaskInfo t = task("app", probe());
  t.command.environment = {{"OVERRIDE", "task"}};
  ASSERT_TRUE(runToCompletion(t));
  auto f = facts(harness_->readSandbox("app", "facts"));
  EXPECT_EQ(f["pwd"], "/data");  // created: the image lacks it
  EXPECT_EQ(f["ids"], "1234:1234");
  EXPECT_EQ(f["home"], "/home/app");
  EXPECT_EQ(f["greeting"], "from-image");
  EXPECT_EQ(f["override"], "task");
  EXPECT_EQ(f["sandbox"], "/mnt/agora/sandbox");
  expectCleanedUp("app");
}

TEST_F(ImageContainersTest, TaskArgumentsReplaceTheImageCmdAfterItsEntrypoint) {
  TaskInfo t = task("args", probe());
  t.command.arguments = {"echo \"args=$0 $1\" > $AGORA_SANDBOX/facts", "first", "second"};
  ASSERT_TRUE(runToCompletion(t));
  EXPECT_EQ(facts(harness_->readSandbox("args", "facts"))["args"], "first second");
}

TEST_F(ImageContainersTest, TheTaskSeesTheImageWithAMinimalDevReadOnlySysAndTmpfs) {
  TaskInfo t = shellTask("layout", probe(), kLayoutScript);
  t.command.environment = {{"HOSTPATH", root_}};
  ASSERT_TRUE(runToCompletion(t));
  std::string text = harness_->readSandbox("layout", "facts");
  auto f = facts(text);
  EXPECT_EQ(f["hello"], "hello");
  EXPECT_EQ(f.count("host-file"), 0u) << "a host-only file is visible";
  EXPECT_EQ(f.count("host-path"), 0u) << "the host's " << root_ << " is visible";
  EXPECT_EQ(f.count("sys"), 0u) << "/sys is writable";
  EXPECT_EQ(f["devnull"], "ok");
  EXPECT_EQ(f["dev"], std::string("fd full ") + (kernelHasMqueue() ? "mqueue " : "") +
                          "null ptmx pts random shm stderr stdin stdout tty urandom zero ");
  std::string container = harness_->containerOf("layout");
  EXPECT_EQ(f["hostname"], container + " " + container);
  EXPECT_EQ(f["pwd"], "/data");

  auto mounts = mountTable(harness_->readSandbox("layout", "mounts"));
  ASSERT_TRUE(mounts.count("/")) << text;
  EXPECT_TRUE(mounts["/"].starts_with("overlay ")) << mounts["/"];
  EXPECT_TRUE(mounts["/tmp"].starts_with("tmpfs rw")) << mounts["/tmp"];
  EXPECT_TRUE(mounts["/sys"].starts_with("sysfs ro")) << mounts["/sys"];
  EXPECT_TRUE(mounts["/proc"].starts_with("proc rw")) << mounts["/proc"];
  EXPECT_TRUE(mounts["/dev"].starts_with("tmpfs rw,nosuid,nodev")) << mounts["/dev"];
  EXPECT_TRUE(mounts["/dev/pts"].starts_with("devpts rw")) << mounts["/dev/pts"];
  EXPECT_TRUE(mounts["/dev/shm"].starts_with("tmpfs rw")) << mounts["/dev/shm"];
  EXPECT_NE(mounts["/mnt/agora/sandbox"].find("nodev"), std::string::npos)
      << mounts["/mnt/agora/sandbox"];
  EXPECT_TRUE(mounts["/etc/hosts"].find(" ro") != std::string::npos) << mounts["/etc/hosts"];
  EXPECT_TRUE(mounts["/etc/hostname"].find(" ro") != std::string::npos);
  for (const auto& [point, what] : mounts) {
    EXPECT_EQ(point.find(root_), std::string::npos) << "host path mounted at " << point;
  }
  expectCleanedUp("layout");
}

// Root in an image holds CAP_MKNOD: a node made with /dev/null's numbers
// (a block device's would open the host's disks) opens nowhere it can
// write, while the container's own /dev/null, /dev/zero and /dev/urandom
// (the host's, bound in) work.
TEST_F(ImageContainersTest, ADeviceNodeMadeInTheContainerOpensNothingButItsOwnDevWorks) {
  TaskInfo t = shellTask(
      "mknod", probe(),
      "cd $AGORA_SANDBOX; for d in $AGORA_SANDBOX /tmp /dev /dev/shm / scratch; do "
      "busybox mknod $d/node c 1 3 2>/dev/null && echo \"made$d=yes\"; "
      "echo \"open$d=$( (echo x > $d/node) 2>&1 | busybox sed 's/.*: //')\"; done > facts; "
      "{ echo x > /dev/null && echo null=ok; echo zero=$(busybox head -c 8 /dev/zero | busybox wc "
      "-c); echo urandom=$(busybox head -c 8 /dev/urandom | busybox wc -c); "
      "echo \"full=$( (echo x > /dev/full) 2>&1 | busybox sed 's/.*: //')\"; } >> facts");
  t.container.volumes = {Volume::tmpfs("scratch", 4)};
  ASSERT_TRUE(runToCompletion(t));
  auto f = facts(harness_->readSandbox("mknod", "facts"));
  for (const std::string dir : {"/mnt/agora/sandbox", "/tmp", "/dev", "/dev/shm", "/", "scratch"}) {
    EXPECT_EQ(f["made" + dir], "yes") << dir;
    EXPECT_EQ(f["open" + dir], "Permission denied") << dir;
  }
  EXPECT_EQ(f["null"], "ok");
  EXPECT_EQ(f["zero"], "8");
  EXPECT_EQ(f["urandom"], "8");
  EXPECT_EQ(f["full"], "No space left on device");
  expectCleanedUp("mknod");
}

TEST_F(ImageContainersTest, SysIsAReadOnlyBindOfTheHostsWithTheHostNetwork) {
  TaskInfo t = shellTask("hostnet", probe(),
                         "busybox cat /proc/self/mountinfo > $AGORA_SANDBOX/mounts; "
                         "busybox mkdir /sys/fs/cgroup/agora-probe 2>/dev/null && "
                         "echo writable > $AGORA_SANDBOX/facts; true");
  ASSERT_TRUE(runToCompletion(t));
  auto mounts = mountTable(harness_->readSandbox("hostnet", "mounts"));
  EXPECT_TRUE(mounts["/sys"].starts_with("sysfs ro")) << mounts["/sys"];
  for (const auto& [point, what] : mounts) {
    if (point.starts_with("/sys/")) {
      EXPECT_NE(what.find(" ro"), std::string::npos) << point;
    }
  }
  EXPECT_EQ(harness_->readSandbox("hostnet", "facts"), "");
}

TEST_F(ImageContainersTest, OwnNetworkGetsAFreshReadOnlySysfs) {
  TaskInfo t = shellTask("netnone", probe(),
                         "busybox cat /proc/self/mountinfo > $AGORA_SANDBOX/mounts");
  t.container.networkMode = NetworkMode::NONE;
  ASSERT_TRUE(runToCompletion(t));
  auto mounts = mountTable(harness_->readSandbox("netnone", "mounts"));
  EXPECT_TRUE(mounts["/sys"].starts_with("sysfs ro")) << mounts["/sys"];
  EXPECT_EQ(mounts.count("/sys/fs/cgroup"), 0u) << "host submounts of /sys came along";
}

TEST_F(ImageContainersTest, RunsFromADockerArchive) {
  writeFile(root_ + "/src/probe.tar", makeDockerArchive({base_, app_}, config_, "probe:1"));
  std::string ref = "docker-archive:" + root_ + "/src/probe.tar:probe:1";
  ASSERT_TRUE(runToCompletion(
      shellTask("archive", ref, "busybox cat /etc/hello /etc/passwd > $AGORA_SANDBOX/facts")));
  EXPECT_TRUE(harness_->readSandbox("archive", "facts").starts_with("hello\nroot:x:0:0:"));
}

TEST_F(ImageContainersTest, RunsFromADockerRegistry) {
  if (!LocalRegistry::available()) GTEST_SKIP() << "docker-registry or skopeo missing";
  LocalRegistry registry;
  ASSERT_EQ(registry.start(root_ + "/src/registry"), "");
  ASSERT_EQ(registry.push("oci:" + layout_ + ":probe", "test/probe:1"), "");
  TaskInfo t = task("registry", registry.ref("test/probe:1"));
  ASSERT_TRUE(runToCompletion(t));
  EXPECT_EQ(facts(harness_->readSandbox("registry", "facts"))["greeting"], "from-image");
}

TEST_F(ImageContainersTest, BadImagesFailTheLaunchNamingTheImageAndTheCause) {
  std::string missing = "oci:" + root_ + "/src/absent:x";
  std::string message = launchFailure(task("missing", missing));
  EXPECT_NE(message.find("cannot provision image '" + missing + "'"), std::string::npos)
      << message;

  message = launchFailure(task("badref", "ftp://example/x"));
  EXPECT_NE(message.find("bad image reference 'ftp://example/x'"), std::string::npos) << message;

  // A layer whose bytes no longer match its digest (the tar stays valid).
  Layer plain = makeLayer(busyboxLayer(), /*gzip=*/false);
  OciLayout corrupt(root_ + "/src/corrupt");
  corrupt.addImage({plain}, makeConfig({plain}, {}, {"/bin/sh"}), "t");
  std::string blob = corrupt.blobPath(images::sha256Digest(plain.tar));
  std::string bytes = readFile(blob);
  bytes[bytes.size() - 1] = 'x';  // end-of-archive padding
  writeFile(blob, bytes);
  message = launchFailure(task("corrupt", "oci:" + corrupt.dir() + ":t"));
  EXPECT_NE(message.find("does not match its digest"), std::string::npos) << message;
  EXPECT_NE(message.find("oci:" + corrupt.dir() + ":t"), std::string::npos) << message;

  Layer evil = makeLayer({file("ok", "x"), file("../evil", "x")}, /*gzip=*/false);
  OciLayout traversal(root_ + "/src/traversal");
  traversal.addImage({evil}, makeConfig({evil}, {}, {"/bin/sh"}), "t");
  message = launchFailure(task("traversal", "oci:" + traversal.dir() + ":t"));
  EXPECT_NE(message.find("escapes the layer"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(root_ + "/src/evil"));

  std::string down = "docker://127.0.0.1:" + std::to_string(freeLoopbackPort()) + "/x:y";
  message = launchFailure(task("down", down));
  EXPECT_NE(message.find(down), std::string::npos) << message;

  // Docker's rule: nothing to run is an error, not a guess.
  OciLayout bare(root_ + "/src/bare");
  bare.addImage({plain}, makeConfig({plain}, {}, {}), "t");
  message = launchFailure(task("bare", "oci:" + bare.dir() + ":t"));
  EXPECT_NE(message.find("nothing to run"), std::string::npos) << message;
  EXPECT_EQ(harness_->containerizer().containers(), std::vector<std::string>{});
}

// Kubernetes's pull policies: a tag other than "latest" is resolved once
// (IfNotPresent) until the label asks for Always, which sees a moved tag.
TEST_F(ImageContainersTest, IfNotPresentKeepsTheResolvedImageAlwaysSeesAMovedTag) {
  auto layoutSaying = [&](const std::string& dir, const std::string& word) {
    OciLayout layout(dir);
    auto config = makeConfig({base_}, {"/bin/sh", "-c"}, {"echo " + word + " > $AGORA_SANDBOX/word"});
    config["config"]["Env"] = {"PATH=/bin"};
    layout.addImage({base_}, config, "v1");
  };
  const std::string dir = root_ + "/src/moving";
  layoutSaying(dir, "one");
  const std::string ref = "oci:" + dir + ":v1";
  auto said = [&](const std::string& id, const std::string& policy) {
    TaskInfo t = task(id, ref);
    if (!policy.empty()) t.labels.push_back({"agora.image.pull_policy", policy});
    if (!runToCompletion(t)) return std::string("(failed)");
    std::string word = harness_->readSandbox(id, "word");
    while (!word.empty() && word.back() == '\n') word.pop_back();
    return word;
  };
  EXPECT_EQ(said("first", ""), "one");
  // The tag moves to another image.
  layoutSaying(root_ + "/src/next", "two");
  fs::rename(dir, root_ + "/src/previous");
  fs::rename(root_ + "/src/next", dir);
  EXPECT_EQ(said("cached", ""), "one");
  EXPECT_EQ(said("explicit", "IfNotPresent"), "one");
  EXPECT_EQ(said("always", "Always"), "two");
  EXPECT_EQ(said("after", ""), "two");  // what the last pull resolved

  TaskInfo bad = task("bad", ref);
  bad.labels.push_back({"agora.image.pull_policy", "Never"});
  EXPECT_EQ(launchFailure(bad), "image '" + ref +
                                    "': label agora.image.pull_policy='Never': expected Always "
                                    "or IfNotPresent");
}

TEST_F(ImageContainersTest, AnAgentWithoutNamespacesRefusesImages) {
  startAgent(false);
  std::string message = launchFailure(task("plain", probe()));
  EXPECT_NE(message.find("image '" + probe() + "' needs the namespaces isolation"),
            std::string::npos)
      << message;
}

TEST_F(ImageContainersTest, KilledContainersLeaveNoMountOrUpperDir) {
  harness_->launch(shellTask("sleeper", probe(), "busybox touch /tmp/x /upper-file; "
                                                 "exec busybox sleep 1000"));
  ASSERT_TRUE(harness_->waitRunning("sleeper"));
  std::string rootfs = rootfsOf("sleeper");
  EXPECT_TRUE(harness_->runUntil([&] { return fs::exists(rootfs + "/upper/upper-file"); },
                                 seconds(10)));
  // The overlay lives only in the container's mount namespace.
  EXPECT_EQ(hostMountsUnder(root_), std::vector<std::string>{});
  harness_->kill("sleeper");
  const TaskStatus* end = harness_->waitTerminal("sleeper");
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(end->state, TaskState::KILLED);
  expectCleanedUp("sleeper");
}

// --writable-layer=memory: the upper dir is in a tmpfs that only the
// container's mount namespace has, sized by the task's disk.
TEST_F(ImageContainersTest, AWritableLayerInMemoryIsATmpfsOnlyTheContainerHasSizedByItsDisk) {
  startAgent(true, /*memoryLayer=*/true);
  TaskInfo t = shellTask(
      "inmem", probe(),
      "cd /; busybox dd if=/dev/zero of=/small bs=1024 count=512 2>/dev/null && echo small=ok; "
      "busybox dd if=/dev/zero of=/big bs=1024 count=2048 2>/dev/null || echo big=refused; "
      "busybox grep ' / / ' /proc/self/mountinfo; } > $AGORA_SANDBOX/out 2>&1; "
      "exec busybox sleep 1000");
  t.command.value = "{ " + t.command.value;
  t.resources.setScalar("disk", 1);
  harness_->launch(t);
  ASSERT_TRUE(harness_->waitRunning("inmem"));
  std::string out;
  EXPECT_TRUE(harness_->runUntil(
      [&] {
        out = harness_->readSandbox("inmem", "out");
        return out.find("overlay") != std::string::npos;
      },
      seconds(10)));
  EXPECT_NE(out.find("small=ok"), std::string::npos) << out;
  EXPECT_NE(out.find("big=refused"), std::string::npos) << "1 MB layer took 2 MB:\n" << out;
  EXPECT_NE(out.find("upperdir=" + mountPointDirOf("inmem") + "/layer/upper"), std::string::npos)
      << out;
  // Nothing on disk, and the host sees neither the tmpfs nor the files.
  EXPECT_FALSE(fs::exists(rootfsOf("inmem")));
  EXPECT_EQ(hostMountsUnder(root_), std::vector<std::string>{});
  EXPECT_TRUE(fs::is_empty(mountPointDirOf("inmem") + "/layer"));
  harness_->kill("inmem");
  ASSERT_NE(harness_->waitTerminal("inmem"), nullptr);
  expectCleanedUp("inmem");
}

// The task's label overrides the agent's choice; a bad value fails the
// launch naming the label.
TEST_F(ImageContainersTest, ATaskLabelChoosesItsWritableLayer) {
  TaskInfo t = shellTask("labelled", probe(),
                         "busybox grep ' / / ' /proc/self/mountinfo > $AGORA_SANDBOX/out; "
                         "exec busybox sleep 1000");
  t.labels.push_back({"agora.rootfs.writable_layer", "memory"});
  harness_->launch(t);
  ASSERT_TRUE(harness_->waitRunning("labelled"));
  std::string out;
  EXPECT_TRUE(harness_->runUntil(
      [&] {
        return (out = harness_->readSandbox("labelled", "out")).find("overlay") !=
               std::string::npos;
      },
      seconds(10)));
  EXPECT_NE(out.find("upperdir=" + mountPointDirOf("labelled") + "/layer/upper"), std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(rootfsOf("labelled"))) << "the agent's default (disk) won";
  harness_->kill("labelled");
  ASSERT_NE(harness_->waitTerminal("labelled"), nullptr);
  expectCleanedUp("labelled");

  TaskInfo bad = task("bad-layer", probe());
  bad.labels.push_back({"agora.rootfs.writable_layer", "ssd"});
  EXPECT_NE(launchFailure(bad).find("agora.rootfs.writable_layer='ssd': expected disk or memory"),
            std::string::npos);
}

// Mount points come from the shared mount-point layer: a container that
// writes nothing leaves its upper dir empty (no per-start inode churn).
TEST_F(ImageContainersTest, StartingAContainerCreatesNothingInItsUpperDir) {
  harness_->launch(shellTask("quiet", probe(), "exec busybox sleep 1000"));
  ASSERT_TRUE(harness_->waitRunning("quiet"));
  // Only the image's WorkingDir may be made there; no mount point is.
  for (const auto& entry : fs::directory_iterator(rootfsOf("quiet") + "/upper")) {
    std::string name = entry.path().filename();
    for (const char* mountPoint : {"proc", "dev", "sys", "tmp", "mnt", "etc"}) {
      EXPECT_NE(name, mountPoint) << "created in the upper dir";
    }
  }
  harness_->kill("quiet");
  ASSERT_NE(harness_->waitTerminal("quiet"), nullptr);
  expectCleanedUp("quiet");
}

TEST_F(ImageContainersTest, TwoContainersShareTheUnpackedLayers) {
  const std::string script =
      "busybox grep ' / / ' /proc/self/mountinfo > $AGORA_SANDBOX/root; exec busybox sleep 1000";
  harness_->launch(shellTask("one", probe(), script));
  harness_->launch(shellTask("two", probe(), script));
  ASSERT_TRUE(harness_->waitRunning("one"));
  ASSERT_TRUE(harness_->waitRunning("two"));
  auto lower = [&](const std::string& taskId) {
    std::string line = harness_->waitSandboxFile(taskId, "root");
    size_t at = line.find("lowerdir=");
    return at == std::string::npos ? line : line.substr(at, line.find(',', at) - at);
  };
  std::string one = lower("one");
  // The shared mount-point layer on top, then the image's unpacked layers.
  EXPECT_TRUE(one.starts_with("lowerdir=" + root_ + "/work/mount-points:" + root_ +
                              "/store/layers/"))
      << one;
  EXPECT_EQ(one, lower("two"));
  int layers = 0;
  for (const auto& e : fs::directory_iterator(root_ + "/store/layers")) layers += e.is_directory();
  EXPECT_EQ(layers, 2);
  const std::string id = images::sha256Digest(config_.dump());
  EXPECT_EQ(harness_->images()->imageUsers(id), 2);
  harness_->kill("one");
  harness_->kill("two");
  ASSERT_NE(harness_->waitTerminal("one"), nullptr);
  ASSERT_NE(harness_->waitTerminal("two"), nullptr);
  expectCleanedUp("one");
  expectCleanedUp("two");
  EXPECT_EQ(harness_->images()->imageUsers(id), 0);
}

}  // namespace
}  // namespace agora::agent
