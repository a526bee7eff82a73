#include "common/codec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <random>

#include "common/model.hpp"
#include "schemas/scheduler.capnp.h"
#include "tests/support/hostile_frames.hpp"

namespace agora {
namespace {

using testing::zeroBomb;

void buildSubscribe(capnp::MallocMessageBuilder& message) {
  auto call = message.initRoot<schema::Call>();
  call.setVersion(schema::PROTOCOL_VERSION);
  FrameworkInfo info;
  info.name = "test";
  info.roles = {"*"};
  toCapnp(info, call.initSubscribe());
}

std::string encodeSubscribe() {
  capnp::MallocMessageBuilder message;
  buildSubscribe(message);
  return encodePacked(message);
}

TEST(CodecTest, RoundTripsPackedMessage) {
  std::string bytes = encodeSubscribe();
  auto decoded = Decoded::parse(bytes);
  ASSERT_TRUE(decoded.has_value());
  auto call = decoded->root<schema::Call>();
  EXPECT_EQ(call.getVersion(), schema::PROTOCOL_VERSION);
  ASSERT_TRUE(call.isSubscribe());
  EXPECT_EQ(std::string(call.getSubscribe().getName()), "test");
}

TEST(CodecTest, DecodesFromUnalignedBuffer) {
  std::string bytes = encodeSubscribe();
  std::string shifted = "x" + bytes;
  auto decoded = Decoded::parse(std::string_view(shifted).substr(1));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->root<schema::Call>().isSubscribe());
}

TEST(CodecTest, GarbageNeverThrows) {
  std::mt19937 rng(42);
  std::string good = encodeSubscribe();
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = good;
    if (i % 2 == 0) {
      for (auto& c : bytes) c = static_cast<char>(rng());
    } else {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
      bytes.resize(rng() % (bytes.size() + 1));
    }
    auto decoded = Decoded::parse(bytes);
    if (!decoded) {
      ++rejected;
      continue;
    }
    Status st = catchDecode([&] {
      auto call = decoded->root<schema::Call>();
      if (call.isSubscribe()) {
        auto info = fromCapnp(call.getSubscribe());
        (void)info;
      }
    });
    if (!st) ++rejected;
  }
  EXPECT_GT(rejected, 0);
  EXPECT_FALSE(Decoded::parse("").has_value());
}

TEST(CodecTest, ReadsTheSegmentTableWithoutUnpackingTheSegments) {
  std::string bytes = encodeSubscribe();
  auto words = declaredWords(bytes);
  ASSERT_TRUE(words.has_value()) << words.error().message;
  capnp::MallocMessageBuilder message;
  buildSubscribe(message);
  EXPECT_EQ(*words, message.sizeInWords());
  EXPECT_EQ(*declaredWords(zeroBomb(8u << 20)), 8u << 20);
  EXPECT_FALSE(declaredWords(std::string_view(bytes).substr(0, 1)).has_value());
}

TEST(CodecTest, AFrameThatWouldUnpackPastTheLimitIsRefusedBeforeUnpacking) {
  // 64 KiB of frame declaring 8M words (64 MiB): the master once spent
  // ~40 ms unpacking each.
  std::string bomb = zeroBomb(8u << 20);
  EXPECT_LT(bomb.size(), 70u << 10);
  auto decoded = Decoded::parse(bomb);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kTooLarge);
  EXPECT_THAT(decoded.error().message, ::testing::HasSubstr("declares 8388608 words"));
  // Within the protocol's limit but far past what its bytes can honestly
  // carry: 8 KiB declaring 1M words.
  auto dense = Decoded::parse(zeroBomb(1u << 20), DecodeLimits{4u << 20, 32});
  ASSERT_FALSE(dense.has_value());
  EXPECT_EQ(dense.error().code, ErrorCode::kTooLarge);
  // A per-protocol limit below the default.
  auto small = Decoded::parse(zeroBomb(2000), DecodeLimits{1000, 32});
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.error().code, ErrorCode::kTooLarge);
  EXPECT_TRUE(Decoded::parse(zeroBomb(2000), DecodeLimits{4000, 32}).has_value());
}

TEST(CodecTest, LargeHonestMessagesStillDecode) {
  capnp::MallocMessageBuilder message;
  auto call = message.initRoot<schema::Call>();
  call.setVersion(schema::PROTOCOL_VERSION);
  FrameworkInfo info;
  info.name = "big";
  for (int i = 0; i < 20000; ++i) info.roles.push_back("role-" + std::to_string(i));
  toCapnp(info, call.initSubscribe());
  std::string bytes = encodePacked(message);
  auto decoded = Decoded::parse(bytes, kSchedulerCallLimits);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->root<schema::Call>().getSubscribe().getRoles().size(), 20000u);
}

}  // namespace
}  // namespace agora
