#include "cli/table.hpp"

#include <gtest/gtest.h>

#include "cli/list_commands.hpp"

namespace agora::cli {
namespace {

using nlohmann::json;

TEST(TableTest, AlignsColumnsAndTrimsTrailingSpace) {
  Table table({"ID", "NAME", "X"});
  table.addRow({"a", "long-name", ""});
  table.addRow({"bbbb", "n"});
  EXPECT_EQ(table.render(),
            "ID    NAME       X\n"
            "a     long-name\n"
            "bbbb  n\n");
}

TEST(TableTest, CountsUtf8CodePoints) {
  Table table({"A", "B"});
  table.addRow({"\xc3\xa9\xc3\xa9", "x"});  // "éé": 2 columns wide
  EXPECT_EQ(table.render(), "A   B\n\xc3\xa9\xc3\xa9  x\n");
}

TEST(ListCommandsTest, FormatsResources) {
  EXPECT_EQ(
      formatResources(json{{"cpus", 4}, {"mem", 1024.5}, {"ports", {{31000, 31100}, {5, 5}}}}),
      "cpus:4 mem:1024.5 ports:31000-31100,5");
  EXPECT_EQ(formatResources(json::object()), "-");
  EXPECT_EQ(formatResources(json()), "-");
}

TEST(ListCommandsTest, RendersTheApiShapes) {
  json agents = json::parse(R"({"agents":[{"id":"a1","hostname":"h","url":"http://h:5051",
      "status":"REGISTERED","resources":{"cpus":4,"mem":1024},"used":{"cpus":0.5},"offered":{},
      "attributes":{}}]})");
  EXPECT_EQ(agentsTable(agents).render(),
            "ID  HOSTNAME  STATUS      RESOURCES        USED      OFFERED  URL\n"
            "a1  h         REGISTERED  cpus:4 mem:1024  cpus:0.5  -        http://h:5051\n");

  json frameworks = json::parse(R"({"frameworks":[{"id":"f1","name":"hello","user":"u",
      "roles":["r1","r2"],"connected":true,"active":false,"used":{},"offered":{},"task_count":3}]})");
  EXPECT_EQ(frameworksTable(frameworks).render(),
            "ID  NAME   USER  ROLES  CONNECTED  ACTIVE  TASKS  USED  OFFERED\n"
            "f1  hello  u     r1,r2  yes        no      3      -     -\n");

  json tasks = json::parse(R"({"tasks":[{"id":"t1","name":"n","framework_id":"f1","agent_id":"a1",
      "state":"TASK_FAILED","exit_code":3,"message":"Command exited with status 3",
      "resources":{"cpus":0.1}}, {"id":"t2","state":"TASK_RUNNING"}]})");
  EXPECT_EQ(tasksTable(tasks).render(),
            "ID  NAME  STATE    EXIT  FRAMEWORK  AGENT  RESOURCES  MESSAGE\n"
            "t1  n     FAILED   3     f1         a1     cpus:0.1   Command exited with status 3\n"
            "t2        RUNNING                          -\n");
}

TEST(ListCommandsTest, ToleratesMalformedBodies) {
  EXPECT_EQ(tasksTable(json::parse(R"({"tasks": 7})")).rows(), 0u);
  EXPECT_EQ(agentsTable(json::array()).rows(), 0u);
}

}  // namespace
}  // namespace agora::cli
