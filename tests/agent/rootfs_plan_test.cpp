// The container mount sequence as planned in the parent, image users looked
// up in the image's own files, and the image part of the launch spec.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "agent/executor/image_process.hpp"
#include "agent/executor/launch_spec.hpp"
#include "agent/executor/rootfs_setup.hpp"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;
using Kind = MountStep::Kind;

ImageRootfs sampleImage() {
  ImageRootfs image;
  image.reference = "oci:/images/busybox:1";
  image.imageId = "sha256:" + std::string(64, 'a');
  image.layerDirs = {"/store/layers/bottom", "/store/layers/top"};
  image.upperDir = "/work/containers/c1/rootfs/upper";
  image.workDir = "/work/containers/c1/rootfs/work";
  image.mountPoint = "/work/containers/c1/rootfs/merged";
  image.argv = {"/bin/sh", "-c", "true"};
  image.env = {"PATH=/bin"};
  image.workingDir = "/srv/app";
  image.user = "app:staff";
  return image;
}

std::vector<std::string> describe(const RootfsPlan& plan) {
  std::vector<std::string> out;
  for (const auto& step : plan.steps()) out.push_back(step.what);
  return out;
}

TEST(RootfsPlanTest, WithoutAnImageOnlyMakesRootPrivateAndMountsProc) {
  auto plan = planRootfs(RootfsOptions{nullptr, "/sandbox", "", false});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->root(), "/");
  EXPECT_EQ(describe(*plan), (std::vector<std::string>{"make / rprivate", "mount proc at /proc",
                                                       "make the volumes"}));
}

// A privileged task keeps the host's /dev, with a /dev/shm of its own.
TEST(RootfsPlanTest, WithoutAnImageTheTaskGetsItsOwnShmAndItsSandboxsTmpKeepingWhatLiesUnderTheHosts) {
  RootfsOptions options{nullptr, "/tmp/w/sandbox", "", false};
  options.privateShm = true;
  options.tmpSource = "/tmp/w/sandbox/tmp";
  options.keptUnderTmp = {{"/tmp/w/sandbox", false, true}, {"/tmp/f", true}};
  auto plan = planRootfs(options);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(describe(*plan),
            (std::vector<std::string>{"make / rprivate", "mount proc at /proc",
                                      "mount tmpfs at /dev/shm", "make the volumes",
                                      "bind /tmp/w/sandbox/tmp at /tmp, keeping /tmp/w/sandbox, "
                                      "/tmp/f"}));
  const MountStep& tmp = plan->steps().back();
  EXPECT_EQ(tmp.kind, Kind::kPrivateTmp);
  EXPECT_EQ(tmp.target, "tmp");
  EXPECT_EQ(tmp.source, "/tmp/w/sandbox/tmp");
  EXPECT_EQ(tmp.carried,
            (std::vector<KeptPath>{{"tmp/w/sandbox", false, true}, {"tmp/f", true, false}}));
  options.keptUnderTmp.assign(MountStep::kMaxCarried + 1, KeptPath{"/tmp/x"});
  EXPECT_FALSE(planRootfs(options));
}

TEST(RootfsPlanTest, IsolatedDevicesCloneTheNodesMakeTheHostNodevThenMountTheContainersDev) {
  RootfsOptions options{nullptr, "/sandbox", "", false};
  options.isolateDevices = true;
  options.privateShm = true;  // ignored: the container's /dev has its own
  options.mqueue = true;
  auto plan = planRootfs(options);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(describe(*plan),
            (std::vector<std::string>{"make / rprivate",
                                      "mount proc at /proc",
                                      "clone the host's /dev/null",
                                      "clone the host's /dev/zero",
                                      "clone the host's /dev/full",
                                      "clone the host's /dev/random",
                                      "clone the host's /dev/urandom",
                                      "clone the host's /dev/tty",
                                      "make every mount nodev",
                                      "mount tmpfs at /dev",
                                      "bind the host's /dev/null at /dev/null",
                                      "bind the host's /dev/zero at /dev/zero",
                                      "bind the host's /dev/full at /dev/full",
                                      "bind the host's /dev/random at /dev/random",
                                      "bind the host's /dev/urandom at /dev/urandom",
                                      "bind the host's /dev/tty at /dev/tty",
                                      "mount devpts at /dev/pts",
                                      "mount tmpfs at /dev/shm",
                                      "mount mqueue at /dev/mqueue",
                                      "symlink /dev/ptmx",
                                      "symlink /dev/fd",
                                      "symlink /dev/stdin",
                                      "symlink /dev/stdout",
                                      "symlink /dev/stderr",
                                      "make the volumes"}));
  for (const MountStep& s : plan->steps()) {
    if (s.kind == Kind::kNoDev) {
      EXPECT_EQ(s.target, "");
      EXPECT_TRUE(s.recursive);
    }
    if (s.kind == Kind::kMount && s.target == "dev") {
      EXPECT_EQ(s.flags & (MS_NOSUID | MS_NODEV), unsigned{MS_NOSUID | MS_NODEV});
    }
    if (s.kind == Kind::kMount && s.fstype == "devpts") {
      EXPECT_NE(s.data.find("newinstance"), std::string::npos);
    }
    if (s.kind == Kind::kBind) {
      // Each node moves the clone of its own name.
      ASSERT_GE(s.slot, 0);
      EXPECT_EQ(s.target, std::string("dev/") + kDevNodes[s.slot]);
      EXPECT_TRUE(s.file);
    }
  }
}

TEST(RootfsPlanTest, AnImageGetsItsOverlayDevSysTmpSandboxEtcThenPivots) {
  ImageRootfs image = sampleImage();
  auto plan = planRootfs(RootfsOptions{&image, "/sandbox", "/work/hostname", false});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->root(), image.mountPoint);
  const auto& steps = plan->steps();
  ASSERT_GE(steps.size(), 10u);
  EXPECT_EQ(steps[0].kind, Kind::kMakePrivate);
  EXPECT_EQ(steps[1].kind, Kind::kOverlay);
  const std::string options = "lowerdir=/store/layers/top:/store/layers/bottom,upperdir=" +
                              image.upperDir + ",workdir=" + image.workDir;
  EXPECT_EQ(steps[1].data, options + ",volatile");
  EXPECT_EQ(steps[1].fallbackData, options);  // kernels without volatile
  EXPECT_EQ(steps[2].what, "mount proc at /proc");
  EXPECT_EQ(steps.back().kind, Kind::kPivotRoot);
  std::vector<std::string> targets;
  for (const auto& s : steps) targets.push_back(s.target);
  auto has = [&](const std::string& t) {
    return std::find(targets.begin(), targets.end(), t) != targets.end();
  };
  for (const char* t : {"dev", "dev/null", "dev/zero", "dev/full", "dev/random", "dev/urandom",
                        "dev/tty", "dev/pts", "dev/ptmx", "dev/shm", "dev/fd", "dev/stdin",
                        "dev/stdout", "dev/stderr", "sys", "tmp", "mnt/agora/sandbox",
                        "srv/app"}) {
    EXPECT_TRUE(has(t)) << t;
  }
  for (const auto& s : steps) {
    // Host network: the host's /sys bound read-only (recursively), no new sysfs.
    EXPECT_FALSE(s.kind == Kind::kMount && s.fstype == "sysfs");
    if (s.kind == Kind::kReadOnly && s.target == "sys") {
      EXPECT_TRUE(s.recursive);
    }
    if (s.target == "mnt/agora/sandbox" && s.kind == Kind::kBind) {
      EXPECT_EQ(s.source, "/sandbox");
    }
    if (s.target == "etc/hostname" && s.kind == Kind::kBind) {
      EXPECT_EQ(s.source, "/work/hostname");
    }
    if (s.target == "dev/null") {
      EXPECT_EQ(s.kind, Kind::kBind);
      EXPECT_EQ(s.slot, 0);
    }
    if (s.kind == Kind::kMount && (s.target == "dev" || s.target == "tmp")) {
      EXPECT_TRUE(s.flags & MS_NODEV) << s.target;
    }
  }
  // Nothing the task can write makes device nodes that open.
  auto sandbox = std::find_if(steps.begin(), steps.end(), [](const MountStep& s) {
    return s.kind == Kind::kNoDev && s.target == "mnt/agora/sandbox";
  });
  ASSERT_NE(sandbox, steps.end());
  EXPECT_TRUE(sandbox->recursive);
  EXPECT_EQ(std::count_if(steps.begin(), steps.end(),
                          [](const MountStep& s) { return s.kind == Kind::kHold; }),
            static_cast<long>(std::size(kDevNodes)));
}

TEST(RootfsPlanTest, AnOwnNetworkGetsAFreshReadOnlySysfs) {
  ImageRootfs image = sampleImage();
  auto plan = planRootfs(RootfsOptions{&image, "/sandbox", "", true});
  ASSERT_TRUE(plan) << plan.error().message;
  bool sysfs = false;
  for (const auto& s : plan->steps()) {
    if (s.kind == Kind::kMount && s.fstype == "sysfs") {
      sysfs = true;
      EXPECT_TRUE(s.flags & MS_RDONLY);
    }
    EXPECT_FALSE(s.kind == Kind::kBind && s.source == "/sys");
  }
  EXPECT_TRUE(sysfs);
}

TEST(RootfsPlanTest, RejectsOverlayDirsTheKernelWouldMisparse) {
  ImageRootfs image = sampleImage();
  image.upperDir = "/work/a,b/upper";
  auto plan = planRootfs(RootfsOptions{&image, "/sandbox", "", false});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("contains ':', ',' or '\\'"), std::string::npos);
  EXPECT_NE(plan.error().message.find(image.reference), std::string::npos);
}

TEST(RootfsPlanTest, AWritableLayerInMemoryIsMountedAndFilledBeforeTheOverlay) {
  ImageRootfs image = sampleImage();
  image.memoryLayerDir = "/run/containers/c1/rootfs/layer";
  image.upperDir = image.memoryLayerDir + "/upper";
  image.workDir = image.memoryLayerDir + "/work";
  image.memoryLayerBytes = 1 << 20;
  auto plan = planRootfs(RootfsOptions{&image, "/sandbox", "/work/hostname", false});
  ASSERT_TRUE(plan) << plan.error().message;
  const auto& steps = plan->steps();
  ASSERT_GE(steps.size(), 5u);
  EXPECT_EQ(steps[0].kind, Kind::kMakePrivate) << "the tmpfs would reach the host";
  EXPECT_EQ(steps[1].kind, Kind::kMemoryLayer);
  EXPECT_EQ(steps[1].source, image.memoryLayerDir);
  EXPECT_EQ(steps[1].data, "mode=755,size=1048576");
  EXPECT_EQ(steps[2].kind, Kind::kHostMkdir);
  EXPECT_EQ(steps[2].source, image.upperDir);
  EXPECT_EQ(steps[3].source, image.workDir);
  EXPECT_EQ(steps[4].kind, Kind::kOverlay);
  image.memoryLayerBytes = 0;
  auto unsized = planRootfs(RootfsOptions{&image, "/sandbox", "/work/hostname", false});
  ASSERT_TRUE(unsized);
  EXPECT_EQ(unsized->steps()[1].data, "mode=755");
}

TEST(RootfsPlanTest, DescribesAFailedStepByIndex) {
  auto plan = planRootfs(RootfsOptions{nullptr, "/sandbox", "", false});
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->describe(1), "mount proc at /proc");
  EXPECT_EQ(plan->describe(99), "set up the rootfs");
}

TEST(LaunchSpecImageTest, TheRootfsSurvivesEncoding) {
  LaunchSpec spec;
  spec.containerId = "c1";
  spec.frameworkId = "fw";
  spec.task.taskId = "t";
  spec.sandbox = "/sb";
  spec.agentEndpoint = "ipc:///x";
  spec.namespaces = true;
  spec.rootfs = sampleImage();
  auto decoded = decodeLaunchSpec(encodeLaunchSpec(spec));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_TRUE(decoded->rootfs);
  EXPECT_EQ(decoded->rootfs->layerDirs, spec.rootfs->layerDirs);
  EXPECT_EQ(decoded->rootfs->argv, spec.rootfs->argv);
  EXPECT_EQ(decoded->rootfs->imageId, spec.rootfs->imageId);
  EXPECT_EQ(decoded->rootfs->user, "app:staff");
  spec.rootfs->memoryLayerDir = "/run/c1/layer";
  spec.rootfs->memoryLayerBytes = 4096;
  spec.rootfs->upperDir = "/run/c1/layer/upper";
  spec.rootfs->workDir = "/run/c1/layer/work";
  decoded = decodeLaunchSpec(encodeLaunchSpec(spec));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->rootfs->memoryLayerDir, "/run/c1/layer");
  EXPECT_EQ(decoded->rootfs->memoryLayerBytes, 4096u);
  // Overlay dirs outside the memory layer would be made on the host.
  for (std::string upper :
       {"/run/c1/upper", "/run/c1/layer/a/upper", "/run/c1/layerX/upper", "/run/c1/layer/"}) {
    spec.rootfs->upperDir = upper;
    EXPECT_FALSE(decodeLaunchSpec(encodeLaunchSpec(spec))) << upper;
  }
  spec.rootfs->upperDir = "/run/c1/layer/upper";
  spec.rootfs->memoryLayerDir = "run/c1/layer";
  spec.rootfs->upperDir = "run/c1/layer/upper";
  spec.rootfs->workDir = "run/c1/layer/work";
  EXPECT_FALSE(decodeLaunchSpec(encodeLaunchSpec(spec))) << "a relative memory layer";
  spec.rootfs->memoryLayerDir.clear();
  spec.rootfs->layerDirs.clear();
  auto broken = decodeLaunchSpec(encodeLaunchSpec(spec));
  ASSERT_FALSE(broken);
  spec.rootfs.reset();
  auto plain = decodeLaunchSpec(encodeLaunchSpec(spec));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->rootfs);
}

class ImageUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agora-imageuser-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (const char* layer : {"/bottom/etc", "/top/etc"}) fs::create_directories(root_ + layer);
    write("/bottom/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nold:x:500:500::/old:/bin/sh\n");
    write("/bottom/etc/group", "root:x:0:\nstaff:x:50:\n");
    write("/top/etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1235:App:/home/app:/bin/sh\n");
    layers_ = {root_ + "/bottom", root_ + "/top"};
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(root_ + rel) << text; }

  std::string root_;
  std::vector<std::string> layers_;
};

TEST_F(ImageUserTest, NamesComeFromTheTopmostPasswd) {
  auto app = resolveImageUser(layers_, "app");
  ASSERT_TRUE(app) << app.error().message;
  EXPECT_EQ(app->uid, 1234u);
  EXPECT_EQ(app->gid, 1235u);
  EXPECT_EQ(app->home, "/home/app");
  auto old = resolveImageUser(layers_, "old");  // only in the lower layer's copy
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("user 'old' is not in the image's /etc/passwd"),
            std::string::npos);
}

TEST_F(ImageUserTest, NobodyWithoutAnEntryIsTheOverflowId) {
  auto nobody = resolveImageUser(layers_, "nobody");
  ASSERT_TRUE(nobody) << nobody.error().message;
  EXPECT_EQ(nobody->uid, 65534u);
  EXPECT_EQ(nobody->gid, 65534u);
  EXPECT_FALSE(resolveImageUser(layers_, "somebody"));
}

TEST_F(ImageUserTest, GroupsNumbersAndWhiteouts) {
  auto withGroup = resolveImageUser(layers_, "app:staff");  // group file of the lower layer
  ASSERT_TRUE(withGroup) << withGroup.error().message;
  EXPECT_EQ(withGroup->gid, 50u);
  auto numeric = resolveImageUser(layers_, "4000:4001");
  ASSERT_TRUE(numeric) << numeric.error().message;
  EXPECT_EQ(numeric->uid, 4000u);
  EXPECT_EQ(numeric->gid, 4001u);
  auto byUid = resolveImageUser(layers_, "1234");
  ASSERT_TRUE(byUid);
  EXPECT_EQ(byUid->name, "app");
  EXPECT_FALSE(resolveImageUser(layers_, "app:nogroup"));
  write("/top/etc/.wh.group", "");
  EXPECT_FALSE(resolveImageUser(layers_, "app:staff"));  // the top layer deleted /etc/group
}

}  // namespace
}  // namespace agora::agent
