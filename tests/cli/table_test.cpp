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
      "roles":["r1","r2"],"connected":true,"active":false,"used":{},"offered":{},"task_count":3,
      "webui_url":"https://hello.example:8443/ui"},
      {"id":"f2","name":"bare","user":"u","roles":["*"],"connected":true,"active":true,
      "used":{},"offered":{},"task_count":0,"webui_url":""}]})");
  EXPECT_EQ(frameworksTable(frameworks).render(),
            "ID  NAME   USER  ROLES  CONNECTED  ACTIVE  TASKS  USED  OFFERED  URL\n"
            "f1  hello  u     r1,r2  yes        no      3      -     -        "
            "https://hello.example:8443/ui\n"
            "f2  bare   u     *      yes        yes     0      -     -\n");

  json tasks = json::parse(R"({"tasks":[{"id":"t1","name":"n","framework_id":"f1","agent_id":"a1",
      "state":"TASK_FAILED","exit_code":3,"message":"Command exited with status 3",
      "resources":{"cpus":0.1},"updated":1000,"statuses":[{"timestamp":900}]},
      {"id":"t2","state":"TASK_RUNNING"}]})");
  EXPECT_EQ(tasksTable(tasks, 1000).render(),
            "ID  NAME  STATE    EXIT  AGE   FRAMEWORK  AGENT  RESOURCES  MESSAGE\n"
            "t1  n     FAILED   3     100s  f1         a1     cpus:0.1   Command exited with status 3\n"
            "t2        RUNNING        -                       -\n");
}

TEST(ListCommandsTest, AgesReadLikeKubectls) {
  EXPECT_EQ(formatAge(5.9), "5s");
  EXPECT_EQ(formatAge(119), "119s");
  EXPECT_EQ(formatAge(600), "10m");
  EXPECT_EQ(formatAge(3 * 3600), "3h");
  EXPECT_EQ(formatAge(3 * 86400), "3d");
  EXPECT_EQ(formatAge(-1), "-");
}

TEST(ListCommandsTest, ToleratesMalformedBodies) {
  EXPECT_EQ(tasksTable(json::parse(R"({"tasks": 7})"), 0).rows(), 0u);
  EXPECT_EQ(agentsTable(json::array()).rows(), 0u);
}

}  // namespace
}  // namespace agora::cli

#include "cli/task_command.hpp"

namespace agora::cli {
namespace {

TEST(TaskCommandTest, DescribesATaskWithItsTimesAndHistory) {
  nlohmann::json task = nlohmann::json::parse(R"({"id":"t1","name":"job","framework_id":"f1",
      "agent_id":"a1","agent_url":"http://a1:5051","state":"TASK_KILLED",
      "reason":"REASON_COMMAND_EXITED","exit_code":143,"message":"Task killed",
      "sandbox":"/var/sb/t1","updated":1700000010.5,"resources":{"cpus":0.5},
      "statuses":[{"state":"TASK_STAGING","reason":"REASON_NONE","message":"","timestamp":1700000000},
                  {"state":"TASK_RUNNING","reason":"REASON_NONE","message":"","timestamp":1700000001},
                  {"state":"TASK_KILLED","reason":"REASON_COMMAND_EXITED",
                   "message":"Task killed","timestamp":1700000010.5}]})");
  std::string text = describeTask(task, 1700000070);
  EXPECT_NE(text.find("Task:       t1 (job)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Agent:      a1 at http://a1:5051\n"), std::string::npos) << text;
  EXPECT_NE(text.find("State:      KILLED (REASON_COMMAND_EXITED), exit code 143\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("Sandbox:    /var/sb/t1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Launched:   2023-11-14 22:13:20.000 UTC (70s ago)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Started:    2023-11-14 22:13:21.000 UTC\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Ended:      2023-11-14 22:13:30.500 UTC, ran 9s\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("KILLED   REASON_COMMAND_EXITED  Task killed"), std::string::npos) << text;
}

}  // namespace
}  // namespace agora::cli
