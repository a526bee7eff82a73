// The duration syntax shared by every flag of the CLI and the daemons.

#include "common/duration.hpp"

#include <gtest/gtest.h>

#include <boost/program_options.hpp>

namespace agora {
namespace {

namespace po = boost::program_options;

TEST(DurationTest, ParsesUnitsAndBareSeconds) {
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("30s")), 30);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("500ms")), 0.5);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("2m")), 120);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("1h")), 3600);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("2d")), 2 * 86400);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("1.5")), 1.5);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("0")), 0);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("600")), 600);
}

TEST(DurationTest, ParsesCompoundDurations) {
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("1h30m")), 5400);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("1m30s")), 90);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("2h0m5s")), 7205);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("1s500ms")), 1.5);
  EXPECT_DOUBLE_EQ(toSeconds(*parseDuration("1.5m")), 90);
}

TEST(DurationTest, RejectsWhatIsNotADuration) {
  for (const char* text : {"", "s", "-1s", "-1", "10x", "1e999", "3650000d", "nan", "inf", "10 s", "ms5",
                           "1h30", "1h-5m", ".s", "1..5s", "+5s"}) {
    auto parsed = parseDuration(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("not a duration"), std::string::npos);
  }
}

TEST(DurationTest, FormatsTheShortestFormThatReadsBack) {
  EXPECT_EQ(formatDuration(seconds(0)), "0s");
  EXPECT_EQ(formatDuration(seconds(0.5)), "500ms");
  EXPECT_EQ(formatDuration(seconds(30)), "30s");
  EXPECT_EQ(formatDuration(seconds(600)), "10m");
  EXPECT_EQ(formatDuration(seconds(5400)), "1h30m");
  EXPECT_EQ(formatDuration(seconds(1209600)), "14d");
  EXPECT_EQ(formatDuration(seconds(2.5)), "2.5s");
  for (double value : {0.5, 30.0, 600.0, 5400.0, 1209600.0, 2.5, 3661.25}) {
    EXPECT_DOUBLE_EQ(toSeconds(*parseDuration(formatDuration(seconds(value)))), value) << value;
  }
}

TEST(DurationTest, IsAProgramOptionsValueType) {
  DurationFlag timeout{std::chrono::seconds(30)};
  po::options_description options;
  options.add_options()("timeout", po::value<DurationFlag>(&timeout)->default_value(timeout, "30s"),
                        "");
  auto parse = [&](std::vector<std::string> args) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(options).run(), vm);
    po::notify(vm);
  };
  parse({});
  EXPECT_DOUBLE_EQ(toSeconds(timeout.value), 30);
  parse({"--timeout", "1h30m"});
  EXPECT_DOUBLE_EQ(toSeconds(timeout.value), 5400);
  parse({"--timeout=45"});
  EXPECT_DOUBLE_EQ(toSeconds(timeout.value), 45);
  try {
    parse({"--timeout", "soon"});
    FAIL() << "accepted 'soon'";
  } catch (const po::error& e) {
    EXPECT_STREQ(e.what(),
                 "'soon' is not a duration for --timeout (e.g. 600s, 10m, 1h30m, 500ms, or bare "
                 "seconds)");
  }
}

}  // namespace
}  // namespace agora
