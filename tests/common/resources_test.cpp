#include "common/resources.hpp"

#include <gtest/gtest.h>

#include <capnp/message.h>
#include <cmath>
#include <limits>
#include <set>

#include "tests/common/resource_helpers.hpp"

namespace agora {
namespace {

using agora::testing::capnpRoundTrip;
using agora::testing::res;

TEST(ResourcesTest, ParsesAndPrintsCanonically) {
  Resources r = res("mem:8192; cpus:4;ports:[32000-32010,31000-31999];disk:100.5");
  EXPECT_DOUBLE_EQ(r.scalar("cpus"), 4);
  EXPECT_DOUBLE_EQ(r.scalar("mem"), 8192);
  EXPECT_DOUBLE_EQ(r.scalar("disk"), 100.5);
  EXPECT_EQ(r.rangeCount("ports"), 1011u);
  EXPECT_EQ(r.toString(), "cpus:4;mem:8192;disk:100.5;ports:[31000-32010]");
  EXPECT_EQ(res(r.toString()), r);
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
  Resources total = res("cpus:4;mem:1024;ports:[31000-31009]");
  Resources task = res("cpus:1.5;mem:256;ports:[31002-31003]");
  EXPECT_TRUE(total.contains(task));
  EXPECT_FALSE(task.contains(total));
  Resources left = total - task;
  EXPECT_EQ(left.toString(), "cpus:2.5;mem:768;ports:[31000-31001,31004-31009]");
  EXPECT_FALSE(left.contains(task));
  EXPECT_EQ(left + task, total);
  EXPECT_FALSE(total.contains(res("gpus:1")));
  EXPECT_FALSE(total.contains(res("ports:[31009-31010]")));
}

TEST(ResourcesTest, FixedPointNeverDrifts) {
  Resources r = res("cpus:1");
  Resources tenth = res("cpus:0.1");
  for (int i = 0; i < 10; ++i) r -= tenth;
  EXPECT_TRUE(r.empty()) << r.toString();
  for (int i = 0; i < 1000; ++i) r += tenth;
  EXPECT_EQ(r.toString(), "cpus:100");
}

TEST(ResourcesTest, RoundTripsThroughCapnp) {
  Resources r = res("cpus:0.25;mem:64;ports:[1-2,10-20]");
  EXPECT_EQ(capnpRoundTrip(r), r);
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

namespace agora {
namespace {

TEST(ReservedResourcesTest, ParsesStaticAndDynamicReservations) {
  Resources r = res("cpus(eng):2;mem(eng):1024;cpus:6;mem:8192;ports(eng):[31000-31100]");
  EXPECT_DOUBLE_EQ(r.scalar("cpus"), 8);  // flattened
  EXPECT_DOUBLE_EQ(r.unreservedScalar("cpus"), 6);
  EXPECT_EQ(r.unreserved().toString(), "cpus:6;mem:8192");
  EXPECT_EQ(r.reservedFor("eng").toString(), "cpus(eng):2;mem(eng):1024;ports(eng):[31000-31100]");
  EXPECT_EQ(r.reservationRoles(), std::set<std::string>{"eng"});
  EXPECT_EQ(res(r.toString()), r);
  Resources d = res("cpus(eng,dynamic:ops):1;cpus(eng,dynamic):2;cpus(*):3");
  EXPECT_EQ(d.toString(), "cpus:3;cpus(eng,dynamic):2;cpus(eng,dynamic:ops):1");
  EXPECT_EQ(res(d.toString()), d);
  for (const char* bad : {"cpus(eng/../x):1", "cpus():1", "cpus(eng,sticky):1", "cpus(eng:1",
                          "cpus(*,dynamic):1", "cpus(eng):1;cpus(eng):2", "cpus( bad role):1"}) {
    EXPECT_FALSE(Resources::parse(bad).has_value()) << bad;
  }
}

TEST(ReservedResourcesTest, ArithmeticKeepsReservationsApart) {
  Resources total = res("cpus(eng):2;cpus:6;ports(eng):[31000-31009]");
  EXPECT_FALSE(total.contains(res("cpus:7")));
  EXPECT_TRUE(total.contains(res("cpus:6;cpus(eng):2")));
  EXPECT_FALSE(total.contains(res("cpus(ads):1")));
  EXPECT_FALSE(total.contains(res("cpus(eng,dynamic):1")));
  EXPECT_FALSE(total.contains(res("ports:[31000-31000]")));
  Resources left = total - res("cpus:6;cpus(eng):0.5");
  EXPECT_EQ(left.toString(), "cpus(eng):1.5;ports(eng):[31000-31009]");
  // Subtracting another role's resources takes nothing.
  EXPECT_EQ((left - res("cpus(ads):1")).toString(), left.toString());
  EXPECT_EQ(left + res("cpus:6;cpus(eng):0.5"), total);
  EXPECT_EQ(total.flatten().toString(), "cpus:8;ports:[31000-31009]");
  EXPECT_TRUE((total - total).empty());
}

TEST(ReservedResourcesTest, AllocatableToTheRoleAndItsDescendants) {
  Resources pool = res("cpus:1;cpus(eng):2;cpus(eng/web):3;cpus(ads):4");
  EXPECT_EQ(pool.allocatableTo("eng").toString(), "cpus:1;cpus(eng):2");
  EXPECT_EQ(pool.allocatableTo("eng/web").toString(), "cpus:1;cpus(eng):2;cpus(eng/web):3");
  EXPECT_EQ(pool.allocatableTo("engineering").toString(), "cpus:1");
  EXPECT_EQ(pool.allocatableTo("*").toString(), "cpus:1");
  Resources dyn = res("mem:512").reservedAs({"eng", ReservationType::kDynamic, "ops"});
  EXPECT_EQ(dyn.toString(), "mem(eng,dynamic:ops):512");
  EXPECT_EQ(dyn.flatten().toString(), "mem:512");
}

TEST(ReservedResourcesTest, CapnpKeepsTheReservation) {
  Resources r = res("cpus:1;cpus(eng):2;mem(eng,dynamic:ops):64;ports(eng):[5-9]");
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<schema::Offer>().initResources(r.count());
  r.toCapnp(list);
  auto back = Resources::fromCapnp(list.asReader());
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, r);
  list[0].setRole("bad role");
  EXPECT_FALSE(Resources::fromCapnp(list.asReader()).has_value());
}

}  // namespace
}  // namespace agora
