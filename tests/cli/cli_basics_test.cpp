// What every command shares: --version and `help CMD`, help texts, negative
// numbers as values, number and JSON printing, task lookup by name, `kill`.

#include <gtest/gtest.h>

#include <sstream>

#include "cli/global_options.hpp"
#include "cli/kill_command.hpp"
#include "cli/list_commands.hpp"
#include "cli/logs_command.hpp"
#include "cli/output.hpp"
#include "cli/role_commands.hpp"
#include "cli/role_explain.hpp"
#include "cli/run_options.hpp"

namespace agora::cli {
namespace {

using nlohmann::json;

TEST(CliBasicsTest, VersionAndHelpCommand) {
  auto line = parseCommandLine({"agora", "--version"}, {});
  ASSERT_TRUE(line.has_value()) << line.error().message;
  EXPECT_TRUE(line->version);
  EXPECT_TRUE(parseCommandLine({"agora", "--master", "m:1", "version"}, {})->version);

  line = parseCommandLine({"agora", "help", "weight"}, {});
  ASSERT_TRUE(line.has_value());
  EXPECT_FALSE(line->help);
  EXPECT_EQ(line->command, "weight");
  EXPECT_EQ(line->args, std::vector<std::string>{"--help"});
  EXPECT_TRUE(parseCommandLine({"agora", "help"}, {})->help);
}

// The --help text of a command, from its parser.
template <class Parse>
std::string helpOf(Parse parse) {
  ::testing::internal::CaptureStdout();
  parse();
  return ::testing::internal::GetCapturedStdout();
}

TEST(CliBasicsTest, HelpNamesNoInternalOptions) {
  GlobalOptions global;
  std::vector<std::string> help = {"--help"};
  std::vector<std::string> texts = {
      helpOf([&] { return parseQuotaArgs(help, global); }),
      helpOf([&] { return parseWeightArgs(help, global); }),
      helpOf([&] { return parseRunOptions(help, global); }),
      helpOf([&] { return parseKillArgs(help, global); }),
      helpOf([&] { return logsCommand(help, global); }),
  };
  for (const std::string& text : texts) {
    EXPECT_NE(text.find("Usage: agora"), std::string::npos) << text;
    EXPECT_NE(text.find("--master"), std::string::npos) << text;
    for (const char* internal : {"--action", "--value", "--cmd", "--task ", "positional"}) {
      EXPECT_EQ(text.find(internal), std::string::npos) << internal << " in:\n" << text;
    }
  }
  // Quota's --role is positional (ROLE) and hidden; reserve's --role is a real flag.
  EXPECT_EQ(texts[0].find("--role"), std::string::npos) << texts[0];
}

TEST(CliBasicsTest, NegativeNumbersAreValues) {
  GlobalOptions global;
  // Reaches the master, whose range check refuses it with the reason.
  auto change = parseWeightArgs({"set", "eng", "-1"}, global);
  ASSERT_TRUE(change.has_value()) << change.error().message;
  EXPECT_EQ(json::parse(change->body)["weight"], -1.0);
  change = parseWeightArgs({"set", "eng", "-0.5", "--master", "m:2"}, global);
  ASSERT_TRUE(change.has_value()) << change.error().message;
  EXPECT_EQ(global.master, "m:2");
  // A negative value of a flag is read as the flag's value.
  auto run = parseRunOptions({"--cpus", "-1", "--", "true"}, global);
  ASSERT_FALSE(run.has_value());
  EXPECT_EQ(run.error().message.find("unrecognised"), std::string::npos) << run.error().message;
  // Short options still work, and a word after a flag is not a number.
  EXPECT_FALSE(parseWeightArgs({"set", "eng", "-x"}, global).has_value());
  auto kill = parseKillArgs({"-h"}, global);
  ASSERT_TRUE(kill.has_value());
  EXPECT_TRUE(kill->help);
  auto extra = parseWeightArgs({"set", "eng", "1", "2"}, global);
  ASSERT_FALSE(extra.has_value());
  EXPECT_EQ(extra.error().message, "too many arguments (see --help)");
}

TEST(CliBasicsTest, NumbersHaveNoTrailingZeros) {
  EXPECT_EQ(formatNumber(1), "1");
  EXPECT_EQ(formatNumber(2.0), "2");
  EXPECT_EQ(formatNumber(0.5), "0.5");
  EXPECT_EQ(formatNumber(0.1 + 0.2), "0.3");
  EXPECT_EQ(formatNumber(0.125), "0.125");
  EXPECT_EQ(formatNumber(1048576), "1048576");
  EXPECT_EQ(formatNumber(1234567.25), "1234567.25");
  EXPECT_EQ(formatNumber(-0.0001), "0");

  // The roles table: a weight the master sends as 2.0 shows as 2.
  json roles = json::parse(R"({"roles":[{"name":"eng","weight":2.0,"quota":{}},
                                        {"name":"ops","weight":1.5,"quota":{}}]})");
  std::string table = rolesTable(roles, 0).render();
  EXPECT_NE(table.find("eng   2 "), std::string::npos) << table;
  EXPECT_NE(table.find("ops   1.5 "), std::string::npos) << table;
  EXPECT_EQ(table.find("2.0"), std::string::npos) << table;

  // Explanations: big amounts in full, not 1.04858e+06.
  json limited = json::parse(R"({"roles":[{"name":"eng","quota":{"limit":{"mem":1048576},
                                 "consumed":{"mem":1048000.5}}}]})");
  RoleExplanation why =
      explainRole(limited, "eng", *Resources::parse("cpus:1;mem:2048"), std::nullopt);
  EXPECT_EQ(why.text,
            "role eng: quota limit mem 1048576 with 1048000.5 consumed (reservations, in use or "
            "not, plus unreserved allocations) leaves 575.5 < requested 2048");
}

TEST(CliBasicsTest, JsonIsIndentedForPeopleAndCompactForPipes) {
  std::ostringstream pretty, compact, raw;
  writeJson(pretty, R"({"tasks":[{"id":"t1"}]})", true);
  EXPECT_EQ(pretty.str(), "{\n  \"tasks\": [\n    {\n      \"id\": \"t1\"\n    }\n  ]\n}\n");
  writeJson(compact, "{ \"tasks\" : [ ] }\n", false);
  EXPECT_EQ(compact.str(), "{\"tasks\":[]}\n");
  writeJson(raw, "not json", true);
  EXPECT_EQ(raw.str(), "not json\n");
}

json tasks() {
  return json::parse(R"({"tasks":[
    {"id":"t1","name":"web","state":"TASK_RUNNING","framework_id":"F1"},
    {"id":"t2","name":"web","state":"TASK_FINISHED","framework_id":"F2"},
    {"id":"t3","name":"db","state":"TASK_RUNNING","framework_id":"F1"},
    {"id":"same","name":"a","framework_id":"F1"},{"id":"same","name":"b","framework_id":"F2"}]})");
}

TEST(CliBasicsTest, FindsATaskByIdOrByAUniqueName) {
  EXPECT_EQ(findTask(tasks(), "t2")->value("framework_id", ""), "F2");
  EXPECT_EQ(findTask(tasks(), "db")->value("id", ""), "t3");
  auto ambiguous = findTask(tasks(), "web");
  ASSERT_FALSE(ambiguous.has_value());
  EXPECT_EQ(ambiguous.error().message,
            "2 tasks are named 'web'; give one of their IDs:\n"
            "  t1  (RUNNING, framework F1)\n"
            "  t2  (FINISHED, framework F2)");
  auto twoFrameworks = findTask(tasks(), "same");
  ASSERT_FALSE(twoFrameworks.has_value());
  EXPECT_NE(twoFrameworks.error().message.find("several frameworks have a task 'same'"),
            std::string::npos);
  auto missing = findTask(tasks(), "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(findTask(json::array(), "t1").has_value());
  // Only running tasks: the finished "web" is left out.
  EXPECT_EQ(findTask(tasks(), "web", /*liveOnly=*/true)->value("id", ""), "t1");
  EXPECT_FALSE(findTask(tasks(), "t2", /*liveOnly=*/true).has_value());
}

TEST(CliBasicsTest, KillArguments) {
  GlobalOptions global;
  auto kill = parseKillArgs({"t 1/x", "--timeout", "1m30s", "--framework", "F1"}, global);
  ASSERT_TRUE(kill.has_value()) << kill.error().message;
  EXPECT_EQ(kill->taskId, "t 1/x");
  EXPECT_EQ(kill->frameworkId, "F1");
  EXPECT_EQ(kill->timeout, std::chrono::seconds(90));
  EXPECT_TRUE(kill->wait);
  EXPECT_EQ(killPath("t 1/x"), "/api/v1/tasks/t%201%2Fx/kill");
  EXPECT_FALSE(parseKillArgs({}, global).has_value());
  EXPECT_FALSE(parseKillArgs({"a", "b"}, global).has_value());
  auto bad = parseKillArgs({"t1", "--timeout", "soon"}, global);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("'soon' is not a duration for --timeout"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(parseKillArgs({"t1", "--no-wait"}, global)->wait);
}

TEST(CliBasicsTest, RunTimeoutTakesTheDurationSyntax) {
  GlobalOptions global;
  auto run = parseRunOptions({"--timeout", "2m", "--", "true"}, global);
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->timeout, std::chrono::seconds(120));
  EXPECT_EQ(parseRunOptions({"--timeout", "45", "--", "true"}, global)->timeout,
            std::chrono::seconds(45));
  EXPECT_FALSE(parseRunOptions({"--timeout", "-5s", "--", "true"}, global).has_value());
}

}  // namespace
}  // namespace agora::cli
