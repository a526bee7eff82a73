#include <gtest/gtest.h>

#include "cli/global_options.hpp"
#include "cli/run_options.hpp"

namespace agora::cli {
namespace {

TEST(CommandLineTest, FlagsBeatEnvironmentWhichBeatsDefaults) {
  auto line = parseCommandLine({"agora", "tasks", "-o", "json"}, {});
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->global.master, "127.0.0.1:5050");
  EXPECT_EQ(line->global.schedulerEndpoint, "tcp://127.0.0.1:5055");
  EXPECT_EQ(line->command, "tasks");
  EXPECT_EQ(line->args, (std::vector<std::string>{"-o", "json"}));

  Environment env = {{"AGORA_MASTER", "10.0.0.1:5050"}, {"AGORA_SCHEDULER_ENDPOINT", "tcp://h:1"}};
  line = parseCommandLine({"agora", "agents"}, env);
  EXPECT_EQ(line->global.master, "10.0.0.1:5050");
  EXPECT_EQ(line->global.schedulerEndpoint, "tcp://h:1");

  line =
      parseCommandLine({"agora", "--master=m:1", "--scheduler-endpoint", "tcp://s:2", "run"}, env);
  EXPECT_EQ(line->global.master, "m:1");
  EXPECT_EQ(line->global.schedulerEndpoint, "tcp://s:2");
  EXPECT_EQ(line->command, "run");
}

TEST(CommandLineTest, HelpAndErrors) {
  EXPECT_TRUE(parseCommandLine({"agora", "--help"}, {})->help);
  EXPECT_TRUE(parseCommandLine({"agora"}, {})->command.empty());
  EXPECT_FALSE(parseCommandLine({"agora", "--bogus", "tasks"}, {}).has_value());
  EXPECT_FALSE(parseCommandLine({"agora", "--master"}, {}).has_value());
}

TEST(CommandLineTest, AddressForms) {
  EXPECT_EQ(toZmqEndpoint("127.0.0.1:5055"), "tcp://127.0.0.1:5055");
  EXPECT_EQ(toZmqEndpoint("ipc:///x"), "ipc:///x");
  EXPECT_EQ(toHttpBase("h:1"), "http://h:1");
  EXPECT_EQ(toHttpBase("http://h:1/"), "http://h:1");
}

TEST(RunOptionsTest, ParsesFlagsAndTheCommandAfterDoubleDash) {
  GlobalOptions global;
  auto options = parseRunOptions({"--cpus", "0.5", "--mem=64", "--env", "A=1", "--env", "B=x=y",
                                  "--timeout", "5", "--master", "m:9", "--", "ls", "-l", "/"},
                                 global);
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_DOUBLE_EQ(options->cpus, 0.5);
  EXPECT_DOUBLE_EQ(options->memMb, 64);
  EXPECT_EQ(options->timeout, std::chrono::seconds(5));
  EXPECT_EQ(options->env, (KeyValues{{"A", "1"}, {"B", "x=y"}}));
  EXPECT_EQ(options->command, (std::vector<std::string>{"ls", "-l", "/"}));
  EXPECT_EQ(global.master, "m:9");

  auto task = buildTask(*options, "run-1");
  ASSERT_TRUE(task.has_value());
  EXPECT_FALSE(task->command.shell);
  EXPECT_EQ(task->command.value, "ls");
  EXPECT_EQ(task->command.arguments, (std::vector<std::string>{"ls", "-l", "/"}));
  EXPECT_EQ(task->resources.toString(), "cpus:0.5;mem:64");
  EXPECT_EQ(task->command.environment.back(),
            (std::pair<std::string, std::string>{"AGORA_TASK_ID", "run-1"}));
}

TEST(RunOptionsTest, OneWordRunsThroughTheShell) {
  GlobalOptions global;
  auto options = parseRunOptions({"--", "echo $HOME; exit 3"}, global);
  ASSERT_TRUE(options.has_value());
  auto task = buildTask(*options, "run-1");
  EXPECT_TRUE(task->command.shell);
  EXPECT_EQ(task->command.value, "echo $HOME; exit 3");
  EXPECT_EQ(task->resources.toString(), "cpus:0.1;mem:32");
}

TEST(RunOptionsTest, RejectsBadInput) {
  GlobalOptions global;
  EXPECT_FALSE(parseRunOptions({}, global).has_value());
  EXPECT_FALSE(parseRunOptions({"--env", "NOEQUALS", "--", "true"}, global).has_value());
  EXPECT_FALSE(parseRunOptions({"--cpus", "0", "--", "true"}, global).has_value());
  EXPECT_FALSE(parseRunOptions({"--timeout", "-1", "--", "true"}, global).has_value());
  EXPECT_FALSE(parseRunOptions({"--frobnicate", "--", "true"}, global).has_value());
}

TEST(RunOptionsTest, ConstraintsAreParsedAndBadOnesNamed) {
  GlobalOptions global;
  auto options =
      parseRunOptions({"--constraint", "rack=r1", "--constraint=zone~us-.*", "--", "true"}, global);
  ASSERT_TRUE(options) << options.error().message;
  ASSERT_EQ(options->constraints.size(), 2u);
  EXPECT_EQ(toString(options->constraints[1]), "zone~us-.*");
  auto bad = parseRunOptions({"--constraint", "=x", "--", "true"}, global);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--constraint"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace agora::cli
