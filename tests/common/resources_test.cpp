#include "common/resources.hpp"

#include <gtest/gtest.h>

#include <capnp/message.h>
#include <cmath>
#include <limits>

namespace agora {
namespace {

Resources parse(const std::string& text) {
  auto r = Resources::parse(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << r.error().message;
  return r.value_or(Resources());
}

TEST(ResourcesTest, ParsesAndPrintsCanonically) {
  Resources r = parse("mem:8192; cpus:4;ports:[32000-32010,31000-31999];disk:100.5");
  EXPECT_DOUBLE_EQ(r.scalar("cpus"), 4);
  EXPECT_DOUBLE_EQ(r.scalar("mem"), 8192);
  EXPECT_DOUBLE_EQ(r.scalar("disk"), 100.5);
  EXPECT_EQ(r.rangeCount("ports"), 1011u);
  EXPECT_EQ(r.toString(), "cpus:4;mem:8192;disk:100.5;ports:[31000-32010]");
  EXPECT_EQ(parse(r.toString()), r);
}

TEST(ResourcesTest, RejectsBadInput) {
  for (const char* bad : {"cpus", "cpus:-1", "cpus:nan", "cpus:inf", "cpus:1e300", "cpus:abc",
                          "ports:[5-3]", "ports:[1-x]", "ports:1-3]", "CPU$:1", "cpus:1;cpus:2",
                          "ports:[1-99999999999]"}) {
    EXPECT_FALSE(Resources::parse(bad).has_value()) << bad;
  }
  Resources r;
  EXPECT_FALSE(r.setScalar("cpus", std::numeric_limits<double>::quiet_NaN()).has_value());
  EXPECT_FALSE(r.setScalar("cpus", -0.5).has_value());
}

TEST(ResourcesTest, ArithmeticAndContainment) {
  Resources total = parse("cpus:4;mem:1024;ports:[31000-31009]");
  Resources task = parse("cpus:1.5;mem:256;ports:[31002-31003]");
  EXPECT_TRUE(total.contains(task));
  EXPECT_FALSE(task.contains(total));
  Resources left = total - task;
  EXPECT_EQ(left.toString(), "cpus:2.5;mem:768;ports:[31000-31001,31004-31009]");
  EXPECT_FALSE(left.contains(task));
  EXPECT_EQ(left + task, total);
  EXPECT_FALSE(total.contains(parse("gpus:1")));
  EXPECT_FALSE(total.contains(parse("ports:[31009-31010]")));
}

TEST(ResourcesTest, FixedPointNeverDrifts) {
  Resources r = parse("cpus:1");
  Resources tenth = parse("cpus:0.1");
  for (int i = 0; i < 10; ++i) r -= tenth;
  EXPECT_TRUE(r.empty()) << r.toString();
  for (int i = 0; i < 1000; ++i) r += tenth;
  EXPECT_EQ(r.toString(), "cpus:100");
}

TEST(ResourcesTest, RoundTripsThroughCapnp) {
  Resources r = parse("cpus:0.25;mem:64;ports:[1-2,10-20]");
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<capnp::List<schema::Resource>>(r.count());
  r.toCapnp(list);
  auto back = Resources::fromCapnp(list.asReader());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, r);
}

TEST(ResourcesTest, FromCapnpRejectsNegativeAndNaN) {
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<capnp::List<schema::Resource>>(1);
  list[0].setName("cpus");
  list[0].setScalar(-2);
  EXPECT_FALSE(Resources::fromCapnp(list.asReader()).has_value());
  list[0].setScalar(std::nan(""));
  EXPECT_FALSE(Resources::fromCapnp(list.asReader()).has_value());
  list[0].setName("bad name");
  list[0].setScalar(1);
  EXPECT_FALSE(Resources::fromCapnp(list.asReader()).has_value());
}

}  // namespace
}  // namespace agora
