// --offer-timeout values.

#include <gtest/gtest.h>

#include "master/duration.hpp"

namespace agora::master {
namespace {

TEST(DurationTest, ParsesUnitsAndBareSeconds) {
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("30s"), 30);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("2m"), 120);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("1h"), 3600);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*parseDurationSeconds("0"), 0);
}

TEST(DurationTest, RejectsWhatIsNotADuration) {
  for (const char* text : {"", "s", "-1s", "10x", "1e999", "nan", "10 s", "ms5"}) {
    auto parsed = parseDurationSeconds(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("not a duration"), std::string::npos);
  }
}

}  // namespace
}  // namespace agora::master
