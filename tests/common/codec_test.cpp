#include "common/codec.hpp"

#include <gtest/gtest.h>

#include <random>

#include "common/model.hpp"
#include "schemas/scheduler.capnp.h"

namespace agora {
namespace {

std::string encodeSubscribe() {
  capnp::MallocMessageBuilder message;
  auto call = message.initRoot<schema::Call>();
  call.setVersion(schema::PROTOCOL_VERSION);
  FrameworkInfo info;
  info.name = "test";
  info.roles = {"*"};
  toCapnp(info, call.initSubscribe());
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

}  // namespace
}  // namespace agora
