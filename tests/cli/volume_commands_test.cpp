// `agora volume create|destroy` argument parsing and the volumes table.

#include "cli/volume_commands.hpp"

#include <gtest/gtest.h>

namespace agora::cli {
namespace {

TEST(VolumeArgsTest, BuildsCreateAndDestroyRequests) {
  GlobalOptions global;
  auto change = parseVolumeArgs(
      {"M-S1", "disk(eng):100", "--id", "logs", "--path", "data", "--ro", "--principal", "ops"},
      global, true);
  ASSERT_TRUE(change.has_value()) << change.error().message;
  EXPECT_EQ(change->path, "/api/v1/create-volumes");
  EXPECT_EQ(nlohmann::json::parse(change->body),
            (nlohmann::json{{"agent_id", "M-S1"}, {"id", "logs"}, {"resources", "disk(eng):100"},
                            {"container_path", "data"}, {"mode", "ro"}, {"principal", "ops"}}));
  EXPECT_EQ(change->done, "created volume logs (disk(eng)[logs:data:ro]:100) on agent M-S1");
  change = parseVolumeArgs({"M-S1", "--id", "logs"}, global, false);
  ASSERT_TRUE(change.has_value()) << change.error().message;
  EXPECT_EQ(change->path, "/api/v1/destroy-volumes");
  EXPECT_EQ(nlohmann::json::parse(change->body),
            (nlohmann::json{{"agent_id", "M-S1"}, {"id", "logs"}}));
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"M-S1", "disk(eng):1", "--path", "data"},              // no id
           {"M-S1", "disk(eng):1", "--id", "a/b", "--path", "d"},  // bad id
           {"M-S1", "disk(eng):1", "--id", "v"},                   // no path
           {"M-S1", "disk(eng):1", "--id", "v", "--path", "../x"},
           {"M-S1", "disk:1", "--id", "v", "--path", "d"},  // unreserved
           {"M-S1", "cpus(eng):1", "--id", "v", "--path", "d"},
           {"--id", "v", "--path", "d"}}) {
    auto refused = parseVolumeArgs(bad, global, true);
    ASSERT_FALSE(refused.has_value()) << bad.back();
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(VolumeArgsTest, TableListsEveryAgentsVolumes) {
  auto agents = nlohmann::json::parse(R"({"agents":[
      {"id":"S1","volumes":[{"id":"logs","reservation":"eng","disk":100,"container_path":"data","mode":"rw"}]},
      {"id":"S2","volumes":[]}]})");
  std::string out = volumesTable(agents).render();
  EXPECT_NE(out.find("AGENT"), std::string::npos) << out;
  EXPECT_NE(out.find("S1     logs  eng   100   data  rw"), std::string::npos) << out;
  EXPECT_EQ(out.find("S2"), std::string::npos) << out;
}

}  // namespace
}  // namespace agora::cli
