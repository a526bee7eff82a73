// The duration syntax shared by every flag of the CLI and the daemons.

#include "common/duration.hpp"

#include <gtest/gtest.h>

#include <boost/program_options.hpp>

namespace agora {
namespace {

namespace po = boost::program_options;

TEST(DurationTest, ParsesUnitsAndBareSeconds) {
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("30s"), 30);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("2m"), 120);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("1h"), 3600);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("2d"), 2 * 86400);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("0"), 0);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("600"), 600);
}

TEST(DurationTest, ParsesCompoundDurations) {
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("1m30s"), 90);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("2h0m5s"), 7205);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("1s500ms"), 1.5);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("1.5m"), 90);
}

TEST(DurationTest, RejectsWhatIsNotADuration) {
  for (const char* text : {"", "s", "-1s", "-1", "10x", "1e999", "nan", "inf", "10 s", "ms5",
                           "1h30", "1h-5m", ".s", "1..5s", "+5s"}) {
    auto parsed = parseDurationSeconds(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("not a duration"), std::string::npos);
  }
}

TEST(DurationTest, FormatsTheShortestFormThatReadsBack) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(0.5), "500ms");
  EXPECT_EQ(formatDuration(30), "30s");
  EXPECT_EQ(formatDuration(600), "10m");
  EXPECT_EQ(formatDuration(5400), "1h30m");
  EXPECT_EQ(formatDuration(1209600), "14d");
  EXPECT_EQ(formatDuration(2.5), "2.5s");
  for (double seconds : {0.5, 30.0, 600.0, 5400.0, 1209600.0, 2.5, 3661.25}) {
    EXPECT_DOUBLE_EQ(*parseDurationSeconds(formatDuration(seconds)), seconds) << seconds;
  }
}

TEST(DurationTest, IsAProgramOptionsValueType) {
  DurationFlag timeout{30};
  po::options_description options;
  options.add_options()("timeout", po::value<DurationFlag>(&timeout)->default_value(timeout, "30s"),
                        "");
  auto parse = [&](std::vector<std::string> args) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(options).run(), vm);
    po::notify(vm);
  };
  parse({});
  EXPECT_DOUBLE_EQ(timeout.seconds, 30);
  parse({"--timeout", "1h30m"});
  EXPECT_DOUBLE_EQ(timeout.seconds, 5400);
  parse({"--timeout=45"});
  EXPECT_DOUBLE_EQ(timeout.seconds, 45);
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
