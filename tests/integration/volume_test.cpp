// Persistent volumes with real processes: a task writes into a volume made by
// CREATE, ends, and the volume comes back in an offer with its persistence
// id; the next task mounts it and reads the data; DESTROY while a task uses
// it is refused; after DESTROY the disk comes back unpersisted and the
// agent has deleted the directory. A volume also survives a master SIGKILL,
// and a DESTROY made while its agent is down deletes the data once the agent
// is back.

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "tests/support/cluster.hpp"
#include "tests/integration/recording_scheduler.hpp"

namespace agora::testing {
namespace {

constexpr const char* kAgentResources = "cpus:2;mem:1024;disk:256;disk(eng):512;ports:[31000-31100]";

Resources volume(const std::string& disk, const std::string& id, const std::string& path) {
  Resources plain = Resources::parse(disk).value();
  return plain.toVolume(DiskPersistence{id, "", path, false}).value();
}

sdk::Operation op(sdk::Operation::Type type, Resources resources) {
  return sdk::Operation{type, {}, std::move(resources)};
}

class VolumeIntegrationTest : public ::testing::Test {
 protected:
  std::unique_ptr<sdk::SchedulerDriver> subscribe(RecordingScheduler& scheduler) {
    sdk::DriverOptions options;
    options.framework.name = "it-volumes";
    options.framework.roles = {"eng"};
    options.masterEndpoint = cluster_.masterEndpoint();
    options.curve = cluster_.schedulerKeys();
    auto driver = sdk::SchedulerDriver::create(scheduler, options);
    EXPECT_TRUE(driver.has_value());
    (*driver)->start();
    return std::move(*driver);
  }
  // Waits for an offer received after the first `seen` offers that
  // satisfies `match`; returns it (nullopt on timeout).
  std::optional<Offer> nextOffer(RecordingScheduler& scheduler, size_t& seen,
                                 const std::function<bool(const Offer&)>& match) {
    std::optional<Offer> found;
    eventually([&] {
      auto offers = scheduler.offers();
      for (; seen < offers.size(); ++seen) {
        if (match(offers[seen].offer)) {
          found = offers[seen++].offer;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  // Accepts `offer` with a shell task that has `volume` in its resources,
  // creating the volume first when `create`.
  static void launchWith(sdk::SchedulerDriver& driver, const Offer& offer, const std::string& taskId,
                         const std::string& command, const Resources& volume, bool create) {
    TaskInfo task = shellTask(taskId, command);
    task.agentId = offer.agentId;
    task.resources += volume;
    std::vector<sdk::Operation> ops;
    if (create) ops.push_back(op(sdk::Operation::Type::kCreate, volume));
    ops.push_back(sdk::Operation::launch({task}));
    driver.accept({offer.id}, std::move(ops));
  }
  static bool holdsVolume(const Offer& offer, const std::string& id) {
    for (const PersistentVolume& v : offer.resources.volumeList()) {
      if (v.disk.id == id) return true;
    }
    return false;
  }
  int agora(std::vector<std::string> args, std::string* out, std::string* err) {
    std::vector<std::string> argv = {binPath("agora"), "--master", cluster_.masterHttp()};
    argv.insert(argv.end(), args.begin(), args.end());
    return cluster_.runCommand(argv, out, err);
  }
  // A framework CREATEs `volume` on a fitting offer and runs `command` with
  // it to completion; returns the agent's ID ("" after a failure).
  std::string runInNewVolume(const Resources& volume, const std::string& command) {
    RecordingScheduler scheduler;
    auto driver = subscribe(scheduler);
    size_t seen = 0;
    double disk = volume.scalar("disk");
    auto offer = nextOffer(scheduler, seen, [disk](const Offer& o) {
      return o.resources.reservedFor("eng").scalar("disk") >= disk;
    });
    if (!offer) {
      ADD_FAILURE() << "no offer with " << disk << " MB of disk reserved for eng";
      return "";
    }
    launchWith(*driver, *offer, "w", command, volume, true);
    bool finished = scheduler.waitForState("w", TaskState::FINISHED);
    EXPECT_TRUE(finished) << (scheduler.latest("w") ? scheduler.latest("w")->message : "");
    driver->stop();
    return finished ? offer->agentId : "";
  }
  std::string volumeDir(const std::string& id) {
    return cluster_.root() + "/agent0/volumes/roles/eng/" + id;
  }

  Cluster cluster_;
};

TEST_F(VolumeIntegrationTest, DataOutlivesItsTaskAndGoesWithDestroy) {
  cluster_.startMaster();
  cluster_.startAgent(kAgentResources);
  RecordingScheduler scheduler;
  auto driver = subscribe(scheduler);
  size_t seen = 0;
  Resources v1 = volume("disk(eng):128", "v1", "data");

  auto first = nextOffer(scheduler, seen, [](const Offer& o) {
    return o.resources.reservedFor("eng").scalar("disk") >= 128;
  });
  ASSERT_TRUE(first.has_value());
  launchWith(*driver, *first, "writer", "echo hello-from-writer > data/msg", v1, true);
  ASSERT_TRUE(scheduler.waitForState("writer", TaskState::FINISHED))
      << (scheduler.latest("writer") ? scheduler.latest("writer")->message : "no update");

  // The volume comes back with its persistence id; the next task reads the data.
  auto again = nextOffer(scheduler, seen, [](const Offer& o) { return holdsVolume(o, "v1"); });
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->resources.volumes(), v1);
  launchWith(*driver, *again, "reader",
             "grep -qx hello-from-writer data/msg && touch data/seen && sleep 60", v1, false);
  ASSERT_TRUE(scheduler.waitForState("reader", TaskState::RUNNING));
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(volumeDir("v1") + "/seen"); }))
      << (scheduler.latest("reader") ? scheduler.latest("reader")->message : "");
  std::ifstream msg(volumeDir("v1") + "/msg");
  std::string line;
  std::getline(msg, line);
  EXPECT_EQ(line, "hello-from-writer");

  // DESTROY while the reader uses it: refused with the reason, nothing changes.
  auto other = nextOffer(scheduler, seen, [](const Offer&) { return true; });
  ASSERT_TRUE(other.has_value());
  TaskInfo probe = shellTask("probe", "true");
  probe.agentId = other->agentId;
  driver->accept({other->id}, {op(sdk::Operation::Type::kDestroy, v1), sdk::Operation::launch({probe})});
  ASSERT_TRUE(scheduler.waitForState("probe", TaskState::ERROR));
  EXPECT_NE(scheduler.latest("probe")->message.find("volume 'v1' is in use by task reader"),
            std::string::npos)
      << scheduler.latest("probe")->message;
  EXPECT_TRUE(std::filesystem::exists(volumeDir("v1") + "/msg"));

  // Once the reader is gone, DESTROY deletes the data and the disk comes back plain.
  driver->kill("reader", again->agentId);
  ASSERT_TRUE(scheduler.waitForState("reader", TaskState::KILLED));
  auto freed = nextOffer(scheduler, seen, [](const Offer& o) { return holdsVolume(o, "v1"); });
  ASSERT_TRUE(freed.has_value());
  driver->accept({freed->id}, {op(sdk::Operation::Type::kDestroy, v1)});
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(volumeDir("v1")); }));
  Resources disk = Resources::parse("disk(eng):128").value();
  auto plain = nextOffer(scheduler, seen, [&](const Offer& o) {
    return o.resources.contains(disk) && o.resources.volumes().empty();
  });
  ASSERT_TRUE(plain.has_value());
}

TEST_F(VolumeIntegrationTest, VolumeSurvivesAMasterKill) {
  cluster_.startMaster();
  cluster_.startAgent(kAgentResources);
  Resources v2 = volume("disk(eng):64", "v2", "state");
  ASSERT_NE(runInNewVolume(v2, "echo kept > state/file"), "");
  ASSERT_TRUE(cluster_.restartMasterAfterSigkill());
  RecordingScheduler scheduler;
  auto driver = subscribe(scheduler);
  size_t seen = 0;
  auto offer = nextOffer(scheduler, seen, [](const Offer& o) { return holdsVolume(o, "v2"); });
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->resources.volumes(), v2);
  EXPECT_TRUE(std::filesystem::exists(volumeDir("v2") + "/file"));

  // The operator's view and tools: list, create, destroy.
  std::string out, err;
  ASSERT_EQ(agora({"volume", "list"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("v2"), std::string::npos) << out;
  EXPECT_NE(out.find("state"), std::string::npos) << out;
  std::string agentId = offer->agentId;
  EXPECT_EQ(agora({"volume", "create", agentId, "disk(eng):10", "--id", "x", "--path", "../up"},
                  &out, &err), 2);
  EXPECT_EQ(agora({"volume", "create", agentId, "disk(eng):10", "--id", "v2", "--path", "other"},
                  &out, &err), 1);
  EXPECT_NE(err.find("already has a volume with that id"), std::string::npos) << err;
  ASSERT_EQ(agora({"volume", "create", agentId, "disk(eng):10", "--id", "v3", "--path", "/srv",
                   "--ro"}, &out, &err), 0) << err;
  ASSERT_EQ(agora({"volume", "destroy", agentId, "--id", "v2"}, &out, &err), 0) << err;
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(volumeDir("v2")); }));
  ASSERT_EQ(agora({"volume", "list", "-o", "json"}, &out, &err), 0) << err;
  auto listed = nlohmann::json::parse(out)["volumes"];
  ASSERT_EQ(listed.size(), 1u) << out;
  EXPECT_EQ(listed[0]["id"], "v3");
  EXPECT_EQ(listed[0]["mode"], "ro");
}

// The README's sequence: reserve cpus and mem for a role, then make a volume of
// the role's disk; the disk is reserved for it on the way.
TEST_F(VolumeIntegrationTest, ReadmeReserveThenVolumeCreateWorks) {
  cluster_.startMaster();
  cluster_.startAgent("cpus:2;mem:1024;disk:256;ports:[31000-31100]");
  std::string agentId = cluster_.masterGet("/api/v1/agents")["agents"][0]["id"];
  std::string out, err;
  ASSERT_EQ(agora({"reserve", agentId, "cpus:1;mem:512", "--role", "eng"}, &out, &err), 0) << err;
  ASSERT_EQ(agora({"volume", "create", agentId, "disk(eng):100", "--id", "logs", "--path", "data"},
                  &out, &err),
            0)
      << err;
  ASSERT_EQ(agora({"volume", "list"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("logs"), std::string::npos) << out;
  // More than the agent has: said in terms of its disk, not of offers.
  EXPECT_EQ(agora({"volume", "create", agentId, "disk(eng):500", "--id", "big", "--path", "big"},
                  &out, &err),
            1);
  EXPECT_NE(err.find("has no disk 500 free for a volume of role eng"), std::string::npos) << err;
  EXPECT_EQ(err.find("offer"), std::string::npos) << err;
}

TEST_F(VolumeIntegrationTest, DestroyWhileTheAgentIsDownDeletesTheDataWhenItComesBack) {
  // The master would notice the dead agent only after 20 s of missed pings.
  cluster_.startMaster({"--agent-max-missed-pings", "100"});
  cluster_.startAgent(kAgentResources);
  Resources v4 = volume("disk(eng):32", "v4", "keep");
  std::string agentId = runInNewVolume(v4, "echo data > keep/file");
  ASSERT_NE(agentId, "");
  ASSERT_TRUE(std::filesystem::exists(volumeDir("v4") + "/file"));

  cluster_.agent(0).signal(SIGKILL);
  ASSERT_GE(cluster_.agent(0).wait(std::chrono::seconds(10)), 0);
  std::string out, err;
  ASSERT_EQ(agora({"volume", "destroy", agentId, "--id", "v4"}, &out, &err), 0) << err;
  auto pending = [&] {
    auto agents = cluster_.masterGet("/api/v1/agents");
    return agents.is_null() ? nlohmann::json() : agents["agents"][0]["destroyed_volumes"];
  };
  ASSERT_TRUE(eventually([&] { return pending().size() == 1; })) << pending().dump();
  EXPECT_EQ(pending()[0]["id"], "v4");
  EXPECT_TRUE(std::filesystem::exists(volumeDir("v4") + "/file"));  // nobody to delete it

  cluster_.restartAgent(0);
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(volumeDir("v4")); }));
  EXPECT_TRUE(eventually([&] { return pending().is_array() && pending().empty(); }))
      << pending().dump();
}

}  // namespace
}  // namespace agora::testing
